/* log.c: the process-wide error log, whole lines with one write(2). */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int log_fd = STDERR_FILENO;
static char log_path[4096];
static int log_tee;
static enum herd_log_level log_level = HERD_LOG_INFO;
static char log_role[32] = "herd";

static const char *const level_names[] = {"error", "warn", "info", "debug"};

int
herd_log_open(const char *path, enum herd_log_level level, char *err,
              size_t errlen)
{
    struct stat st;
    int fd;

    if (path == NULL || strcmp(path, "stderr") == 0) {
        fd = STDERR_FILENO;
        /* A full pipe (a stalled journal) must not stall the server:
           lines are dropped instead. */
        if (fstat(fd, &st) == 0 &&
            (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
            fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        log_path[0] = '\0';
    } else {
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) {
            snprintf(err, errlen, "open(\"%s\") failed (%d: %s)", path, errno,
                     strerror(errno));
            return HERD_ERR;
        }
        snprintf(log_path, sizeof(log_path), "%s", path);
    }
    if (log_fd != STDERR_FILENO && log_fd != fd)
        close(log_fd);
    log_fd = fd;
    log_level = level;
    return HERD_OK;
}

int
herd_log_reopen(char *err, size_t errlen)
{
    char path[sizeof(log_path)];

    if (log_path[0] == '\0')
        return HERD_OK;
    memcpy(path, log_path, sizeof(path));
    return herd_log_open(path, log_level, err, errlen);
}

void
herd_log_set_role(const char *role)
{
    snprintf(log_role, sizeof(log_role), "%s", role);
}

int
herd_log_enabled(enum herd_log_level level)
{
    return level <= log_level;
}

void
herd_log(enum herd_log_level level, const char *fmt, ...)
{
    char line[2048];
    struct timeval tv;
    struct tm tm;
    va_list ap;
    int n, m;

    if (level > log_level)
        return;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    n = snprintf(
        line, sizeof(line),
        "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ [%s] %s %d: ", tm.tm_year + 1900,
        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
        (int)(tv.tv_usec / 1000), level_names[level], log_role, (int)getpid());
    va_start(ap, fmt);
    m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        m = 0;
    n += m;
    if ((size_t)n > sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    /* One write per line keeps lines whole across processes (O_APPEND);
       a failure (disk full, closed stderr) is dropped, never retried. */
    if (write(log_fd, line, (size_t)n) < 0) {
        /* nothing sensible to do: the log itself is what failed */
    }
    if (log_tee && log_fd != STDERR_FILENO && level <= HERD_LOG_WARN &&
        write(STDERR_FILENO, line, (size_t)n) < 0) {
        /* as above */
    }
}

const char *
herd_log_path(void)
{
    return log_path[0] ? log_path : NULL;
}

void
herd_log_tee_stderr(int on)
{
    log_tee = on;
}

void
herd_log_close(void)
{
    if (log_fd != STDERR_FILENO)
        close(log_fd);
    log_fd = STDERR_FILENO;
}
