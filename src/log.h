/* log.h: the process-wide error log (one line per write, with role and pid). */
#ifndef HERD_LOG_H
#define HERD_LOG_H

#include "common.h"
#include "config.h"

/*
 * Point the error log at path ("stderr" or a file opened with O_APPEND)
 * and set the level. Returns HERD_OK, or HERD_ERR with the reason in err;
 * on error the previous destination stays in use.
 */
int herd_log_open(const char *path, enum herd_log_level level, char *err,
                  size_t errlen);

/*
 * Open the file named at herd_log_open again (after logrotate moved it):
 * SIGUSR1. Returns HERD_OK (also for stderr), or HERD_ERR with the reason
 * in err, the old file staying in use.
 */
int herd_log_reopen(char *err, size_t errlen);

/* The file the log writes to, or NULL for stderr. */
const char *herd_log_path(void);

/* While on, lines also go to stderr when the log is a file: start-up
   errors are seen at the prompt, not only in the file. */
void herd_log_tee_stderr(int on);

/* Name this process in every line: "master", "worker 3". Copied. */
void herd_log_set_role(const char *role);

/* Whether a message at level would be written (to skip costly formatting). */
int herd_log_enabled(enum herd_log_level level);

/* Write one line: "TIME [level] ROLE PID: message". Never blocks for long. */
void herd_log(enum herd_log_level level, const char *fmt, ...)
    HERD_PRINTF(2, 3);

/* Close the log file (stderr is left open). */
void herd_log_close(void);

#define herd_log_error(...) herd_log(HERD_LOG_ERROR, __VA_ARGS__)
#define herd_log_warn(...)  herd_log(HERD_LOG_WARN, __VA_ARGS__)
#define herd_log_info(...)  herd_log(HERD_LOG_INFO, __VA_ARGS__)
#define herd_log_debug(...)                                                    \
    do {                                                                       \
        if (herd_log_enabled(HERD_LOG_DEBUG))                                  \
            herd_log(HERD_LOG_DEBUG, __VA_ARGS__);                             \
    } while (0)

#endif
