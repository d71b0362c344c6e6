/* test_static.c: opening below a root, validators, ranges, gzip (static.c). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "mime.h"
#include "static.h"

#define HTML "text/html; charset=utf-8"
#define TXT  "text/plain; charset=utf-8"

/* The two ways of opening; every verdict must be the same in both. */
static const unsigned modes[] = {0, HERD_STATIC_NO_OPENAT2};

static char top[64]; /* the temporary directory: root/ and outside/ */
static int rootfd = -1;
static int sockfd = -1;

static void
put_file(const char *rel, const char *content)
{
    char path[PATH_MAX];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", top, rel);
    f = fopen(path, "w");
    cr_assert_not_null(f, "fopen %s: %s", path, strerror(errno));
    fputs(content, f);
    cr_assert_eq(fclose(f), 0);
}

static void
put_dir(const char *rel)
{
    char path[PATH_MAX];

    snprintf(path, sizeof(path), "%s/%s", top, rel);
    cr_assert_eq(mkdir(path, 0755), 0, "mkdir %s: %s", path, strerror(errno));
}

static void
put_link(const char *target, const char *rel)
{
    char path[PATH_MAX];

    snprintf(path, sizeof(path), "%s/%s", top, rel);
    cr_assert_eq(symlink(target, path), 0, "symlink %s: %s", path,
                 strerror(errno));
}

static void
put_fifo(const char *rel)
{
    char path[PATH_MAX];

    snprintf(path, sizeof(path), "%s/%s", top, rel);
    cr_assert_eq(mkfifo(path, 0644), 0, "mkfifo %s: %s", path, strerror(errno));
}

static void
put_socket(const char *rel)
{
    struct sockaddr_un sa;

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    cr_assert_lt(
        (size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", top, rel),
        sizeof(sa.sun_path));
    sockfd = socket(AF_UNIX, SOCK_STREAM, 0);
    cr_assert_geq(sockfd, 0);
    cr_assert_eq(bind(sockfd, (struct sockaddr *)&sa, sizeof(sa)), 0,
                 "bind: %s", strerror(errno));
}

/*
 * root/
 *   index.html hello.txt empty.txt page.html "100%" "a b.txt"
 *   style.css style.css.gz   app.js.gz (no app.js)
 *   gzfifo.txt gzfifo.txt.gz (a FIFO)   gzlink.txt gzlink.txt.gz ->
 * style.css.gz sub/index.html sub/inner.txt sub/.hidden noindex/a.txt
 * idxdir/index.html/ (a directory)   gzdir/index.html{,.gz} .env .git/config
 * .git/index.html fifo sock link_in -> hello.txt   link_out ->
 * ../outside/secret.txt linkdir_in -> sub      linkdir_out -> ../outside
 *   abs_out -> <top>/outside/secret.txt   devnull -> /dev/null
 *   locked.txt (mode 000)
 * outside/secret.txt
 */
static void
setup(void)
{
    char path[PATH_MAX];

    snprintf(top, sizeof(top), "/tmp/herd-static-XXXXXX");
    cr_assert_not_null(mkdtemp(top), "mkdtemp: %s", strerror(errno));
    put_dir("root");
    put_dir("outside");
    put_file("outside/secret.txt", "secret\n");
    put_file("root/index.html", "<h1>root</h1>\n");
    put_file("root/hello.txt", "hello world\n");
    put_file("root/empty.txt", "");
    put_file("root/page.html", "<p>page</p>\n");
    put_file("root/100%", "percent\n");
    put_file("root/a b.txt", "space\n");
    put_file("root/style.css", "body { color: red; }\n");
    put_file("root/style.css.gz", "GZ-CSS");
    put_file("root/app.js.gz", "GZ-JS");
    put_file("root/gzfifo.txt", "plain\n");
    put_fifo("root/gzfifo.txt.gz");
    put_file("root/gzlink.txt", "plain\n");
    put_link("style.css.gz", "root/gzlink.txt.gz");
    put_dir("root/sub");
    put_file("root/sub/index.html", "<h1>sub</h1>\n");
    put_file("root/sub/inner.txt", "inner\n");
    put_file("root/sub/.hidden", "hidden\n");
    put_dir("root/noindex");
    put_file("root/noindex/a.txt", "a\n");
    put_dir("root/idxdir");
    put_dir("root/idxdir/index.html");
    put_dir("root/gzdir");
    put_file("root/gzdir/index.html", "<h1>gz</h1>\n");
    put_file("root/gzdir/index.html.gz", "GZ-INDEX");
    put_file("root/.env", "SECRET=1\n");
    put_dir("root/.git");
    put_file("root/.git/config", "[core]\n");
    put_file("root/.git/index.html", "git\n");
    put_fifo("root/fifo");
    put_socket("root/sock");
    put_link("hello.txt", "root/link_in");
    put_link("../outside/secret.txt", "root/link_out");
    put_link("sub", "root/linkdir_in");
    put_link("../outside", "root/linkdir_out");
    snprintf(path, sizeof(path), "%s/outside/secret.txt", top);
    put_link(path, "root/abs_out");
    put_link("/dev/null", "root/devnull");
    put_file("root/locked.txt", "locked\n");
    snprintf(path, sizeof(path), "%s/root/locked.txt", top);
    cr_assert_eq(chmod(path, 0), 0);

    snprintf(path, sizeof(path), "%s/root", top);
    rootfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    cr_assert_geq(rootfd, 0, "open root: %s", strerror(errno));
}

static int
rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    return remove(path);
}

/* Remove the tree; may run twice (tests call it before skipping). */
static void
teardown(void)
{
    if (rootfd >= 0)
        close(rootfd);
    rootfd = -1;
    if (sockfd >= 0)
        close(sockfd);
    sockfd = -1;
    if (top[0] != '\0')
        nftw(top, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    top[0] = '\0';
}

TestSuite(static_open, .init = setup, .fini = teardown, .timeout = 10);

/* Open rel (a C string) with flags in one mode; return the verdict. */
static enum herd_static_result
open_in(unsigned mode, const char *rel, const char *index, unsigned flags,
        struct herd_static_file *f, char *err)
{
    memset(f, 0x5a, sizeof(*f));
    err[0] = '\0';
    return herd_static_open(rootfd, rel, strlen(rel), index, flags | mode, f,
                            err, HERD_ERR_LEN);
}

/* Expect verdict want for rel in both modes; nothing left open. */
static void
expect(const char *rel, const char *index, unsigned flags,
       enum herd_static_result want)
{
    struct herd_static_file f;
    char err[HERD_ERR_LEN];
    enum herd_static_result got;
    size_t m;

    cr_assert_neq(want, HERD_STATIC_FOUND);
    for (m = 0; m < HERD_ARRAY_LEN(modes); m++) {
        got = open_in(modes[m], rel, index, flags, &f, err);
        cr_assert_eq(got, want, "\"%s\" mode %u: got %d, want %d (%s)", rel,
                     modes[m], (int)got, (int)want, err);
        cr_assert_eq(f.fd, -1, "\"%s\": fd set on %d", rel, (int)got);
        cr_assert_neq(err[0], '\0', "\"%s\": no reason given", rel);
    }
}

/* Read all of fd from the start into buf (NUL-terminated). */
static void
slurp(int fd, char *buf, size_t cap)
{
    ssize_t n = pread(fd, buf, cap - 1, 0);

    cr_assert_geq(n, 0, "pread: %s", strerror(errno));
    buf[n] = '\0';
}

/* Expect rel to open in both modes, with content, type and gzip flag. */
static void
expect_found(const char *rel, const char *index, unsigned flags,
             const char *content, const char *type, int gzip)
{
    struct herd_static_file f;
    char err[HERD_ERR_LEN], buf[256];
    enum herd_static_result got;
    size_t m;
    int fl;

    for (m = 0; m < HERD_ARRAY_LEN(modes); m++) {
        got = open_in(modes[m], rel, index, flags, &f, err);
        cr_assert_eq(got, HERD_STATIC_FOUND, "\"%s\" mode %u: got %d (%s)", rel,
                     modes[m], (int)got, err);
        cr_assert_geq(f.fd, 0);
        slurp(f.fd, buf, sizeof(buf));
        cr_assert_str_eq(buf, content, "\"%s\" mode %u", rel, modes[m]);
        cr_assert_eq(f.st.st_size, (off_t)strlen(content));
        cr_assert(S_ISREG(f.st.st_mode));
        cr_assert_str_eq(f.content_type, type, "\"%s\"", rel);
        cr_assert_eq(f.gzip, gzip, "\"%s\" mode %u: gzip %d", rel, modes[m],
                     f.gzip);
        fl = fcntl(f.fd, F_GETFL);
        cr_assert(fl & O_NONBLOCK, "\"%s\": not O_NONBLOCK", rel);
        cr_assert_eq(fl & O_ACCMODE, O_RDONLY);
        cr_assert(fcntl(f.fd, F_GETFD) & FD_CLOEXEC, "\"%s\": no CLOEXEC", rel);
        herd_static_close(&f);
        cr_assert_eq(f.fd, -1);
    }
}

Test(static_open, regular_files)
{
    expect_found("hello.txt", "index.html", 0, "hello world\n", TXT, 0);
    expect_found("empty.txt", "index.html", 0, "", TXT, 0);
    expect_found("page.html", NULL, 0, "<p>page</p>\n", HTML, 0);
    expect_found("sub/inner.txt", "index.html", 0, "inner\n", TXT, 0);
    expect_found("style.css", NULL, 0, "body { color: red; }\n",
                 "text/css; charset=utf-8", 0);
    expect_found("style.css.gz", NULL, 0, "GZ-CSS", "application/gzip", 0);
    expect_found("a b.txt", NULL, 0, "space\n", TXT, 0);
}

Test(static_open, empty_segments_skipped)
{
    expect_found("/hello.txt", NULL, 0, "hello world\n", TXT, 0);
    expect_found("//hello.txt", NULL, 0, "hello world\n", TXT, 0);
    expect_found("sub//inner.txt", NULL, 0, "inner\n", TXT, 0);
    expect_found("/sub///inner.txt", NULL, 0, "inner\n", TXT, 0);
}

Test(static_open, match_form_escapes)
{
    expect_found("100%25", NULL, 0, "percent\n", HERD_MIME_DEFAULT, 0);
    /* An encoded '/' cannot be in a name; it never splits the path. */
    expect("sub%2Finner.txt", NULL, 0, HERD_STATIC_NOT_FOUND);
    expect("sub%2finner.txt", NULL, 0, HERD_STATIC_NOT_FOUND);
    expect("%2F", NULL, 0, HERD_STATIC_NOT_FOUND);
    /* Anything else with a '%' is not the match form. */
    expect("100%", NULL, 0, HERD_STATIC_BAD_PATH);
    expect("%2", NULL, 0, HERD_STATIC_BAD_PATH);
    expect("%41", NULL, 0, HERD_STATIC_BAD_PATH);
    expect("%2e%2e/outside", NULL, 0, HERD_STATIC_BAD_PATH);
    expect("%zz", NULL, 0, HERD_STATIC_BAD_PATH);
}

Test(static_open, directory_index)
{
    expect_found("", "index.html", 0, "<h1>root</h1>\n", HTML, 0);
    expect_found("/", "index.html", 0, "<h1>root</h1>\n", HTML, 0);
    expect_found("sub/", "index.html", 0, "<h1>sub</h1>\n", HTML, 0);
    expect_found("sub//", "index.html", 0, "<h1>sub</h1>\n", HTML, 0);
    expect_found("sub/", "inner.txt", 0, "inner\n", TXT, 0);
    /* Without the '/', a redirect, so that relative links work. */
    expect("sub", "index.html", 0, HERD_STATIC_REDIRECT);
    expect("/sub", "index.html", 0, HERD_STATIC_REDIRECT);
    expect("gzdir", "index.html", 0, HERD_STATIC_REDIRECT);
}

Test(static_open, directory_without_index)
{
    expect("noindex/", "index.html", 0, HERD_STATIC_NOT_FOUND);
    expect("noindex", "index.html", 0, HERD_STATIC_NOT_FOUND);
    expect("sub/", NULL, 0, HERD_STATIC_NOT_FOUND);
    expect("sub", NULL, 0, HERD_STATIC_NOT_FOUND);
    expect("", NULL, 0, HERD_STATIC_NOT_FOUND);
    /* An index that is a directory is no index. */
    expect("idxdir/", "index.html", 0, HERD_STATIC_NOT_FOUND);
    expect("idxdir", "index.html", 0, HERD_STATIC_NOT_FOUND);
    /* Invalid index names are treated as none. */
    expect("sub/", "", 0, HERD_STATIC_NOT_FOUND);
    expect("sub/", "..", 0, HERD_STATIC_NOT_FOUND);
    expect("sub/", "../hello.txt", 0, HERD_STATIC_NOT_FOUND);
    expect("sub", "../hello.txt", 0, HERD_STATIC_NOT_FOUND);
}

Test(static_open, file_with_trailing_slash)
{
    expect("hello.txt/", "index.html", 0, HERD_STATIC_NOT_FOUND);
    expect("hello.txt/x", NULL, 0, HERD_STATIC_NOT_FOUND);
}

Test(static_open, missing)
{
    expect("nope.txt", NULL, 0, HERD_STATIC_NOT_FOUND);
    expect("nope/", "index.html", 0, HERD_STATIC_NOT_FOUND);
    expect("nope/x.txt", NULL, 0, HERD_STATIC_NOT_FOUND);
    expect("sub/nope", NULL, 0, HERD_STATIC_NOT_FOUND);
    expect("app.js", NULL, HERD_STATIC_GZIP, HERD_STATIC_NOT_FOUND);
}

Test(static_open, dot_segments)
{
    expect("..", NULL, 0, HERD_STATIC_BAD_PATH);
    expect("../outside/secret.txt", NULL, 0, HERD_STATIC_BAD_PATH);
    expect("sub/../hello.txt", NULL, 0, HERD_STATIC_BAD_PATH);
    expect("sub/..", NULL, 0, HERD_STATIC_BAD_PATH);
    expect(".", "index.html", 0, HERD_STATIC_BAD_PATH);
    expect("./hello.txt", NULL, 0, HERD_STATIC_BAD_PATH);
    expect("sub/./inner.txt", NULL, 0, HERD_STATIC_BAD_PATH);
    /* Also with dotfiles allowed: "." and ".." are never names. */
    expect("..", NULL, HERD_STATIC_DOTFILES, HERD_STATIC_BAD_PATH);
    expect("../outside/secret.txt", NULL, HERD_STATIC_DOTFILES,
           HERD_STATIC_BAD_PATH);
    expect(".", NULL, HERD_STATIC_DOTFILES, HERD_STATIC_BAD_PATH);
}

Test(static_open, nul_byte)
{
    struct herd_static_file f;
    size_t m;

    for (m = 0; m < HERD_ARRAY_LEN(modes); m++) {
        cr_assert_eq(herd_static_open(rootfd, "hello.txt\0.png", 14, NULL,
                                      modes[m], &f, NULL, 0),
                     HERD_STATIC_BAD_PATH);
        cr_assert_eq(f.fd, -1);
    }
}

Test(static_open, dotfiles_hidden)
{
    expect(".env", NULL, 0, HERD_STATIC_NOT_FOUND);
    expect(".git/config", NULL, 0, HERD_STATIC_NOT_FOUND);
    expect(".git/", "index.html", 0, HERD_STATIC_NOT_FOUND);
    expect(".git", "index.html", 0, HERD_STATIC_NOT_FOUND);
    expect("sub/.hidden", NULL, 0, HERD_STATIC_NOT_FOUND);
    expect(".nope", NULL, 0, HERD_STATIC_NOT_FOUND);
    /* Hidden before any lookup: the same answer whether it exists. */
    expect(".git/nope", NULL, 0, HERD_STATIC_NOT_FOUND);
}

Test(static_open, dotfiles_allowed)
{
    unsigned d = HERD_STATIC_DOTFILES;

    expect_found(".env", NULL, d, "SECRET=1\n", HERD_MIME_DEFAULT, 0);
    expect_found(".git/config", NULL, d, "[core]\n", HERD_MIME_DEFAULT, 0);
    expect_found(".git/", "index.html", d, "git\n", HTML, 0);
    expect_found("sub/.hidden", NULL, d, "hidden\n", HERD_MIME_DEFAULT, 0);
    expect(".git", "index.html", d, HERD_STATIC_REDIRECT);
}

Test(static_open, fifo_never_blocks)
{
    expect("fifo", NULL, 0, HERD_STATIC_NOT_FOUND);
    expect("fifo/", "index.html", 0, HERD_STATIC_NOT_FOUND);
}

Test(static_open, socket_not_served)
{
    expect("sock", NULL, 0, HERD_STATIC_NOT_FOUND);
}

Test(static_open, device_not_served)
{
    struct herd_static_file f;
    char err[HERD_ERR_LEN];
    size_t m;
    int devfd = open("/dev", O_PATH | O_DIRECTORY | O_CLOEXEC);

    cr_assert_geq(devfd, 0);
    for (m = 0; m < HERD_ARRAY_LEN(modes); m++) {
        cr_assert_eq(herd_static_open(devfd, "null", 4, NULL, modes[m], &f, err,
                                      sizeof(err)),
                     HERD_STATIC_NOT_FOUND);
        cr_assert_eq(f.fd, -1);
        cr_assert_not_null(strstr(err, "not a regular file"), "%s", err);
        cr_assert_eq(herd_static_open(devfd, "zero", 4, NULL, modes[m], &f, err,
                                      sizeof(err)),
                     HERD_STATIC_NOT_FOUND);
    }
    close(devfd);
}

Test(static_open, symlinks_refused)
{
    /* Outside the root, by relative and absolute targets. */
    expect("link_out", NULL, 0, HERD_STATIC_NOT_FOUND);
    expect("abs_out", NULL, 0, HERD_STATIC_NOT_FOUND);
    expect("linkdir_out/secret.txt", NULL, 0, HERD_STATIC_NOT_FOUND);
    expect("linkdir_out/", "secret.txt", 0, HERD_STATIC_NOT_FOUND);
    expect("devnull", NULL, 0, HERD_STATIC_NOT_FOUND);
    /* Inside the root too: both ways of opening refuse every link. */
    expect("link_in", NULL, 0, HERD_STATIC_NOT_FOUND);
    expect("linkdir_in/inner.txt", NULL, 0, HERD_STATIC_NOT_FOUND);
    expect("linkdir_in/", "index.html", 0, HERD_STATIC_NOT_FOUND);
    expect("linkdir_in", "index.html", 0, HERD_STATIC_NOT_FOUND);
    /* Dotfiles allowed changes nothing. */
    expect("link_in", NULL, HERD_STATIC_DOTFILES, HERD_STATIC_NOT_FOUND);
}

Test(static_open, unreadable_is_not_found)
{
    if (geteuid() == 0) {
        teardown(); /* .fini does not run after a skip */
        cr_skip_test("root reads mode 000 files");
    }
    expect("locked.txt", NULL, 0, HERD_STATIC_NOT_FOUND);
}

Test(static_open, long_names)
{
    char name[NAME_MAX + 2], path[PATH_MAX + 64];
    size_t i;

    memset(name, 'x', NAME_MAX + 1);
    name[NAME_MAX + 1] = '\0';
    expect(name, NULL, 0, HERD_STATIC_NOT_FOUND);
    name[NAME_MAX] = '\0';
    expect(name, NULL, 0, HERD_STATIC_NOT_FOUND);
    for (i = 0; i + 2 < sizeof(path); i += 2)
        memcpy(path + i, "a/", 2);
    path[i] = '\0';
    expect(path, NULL, 0, HERD_STATIC_NOT_FOUND);
}

Test(static_open, gzip_static)
{
    unsigned g = HERD_STATIC_GZIP;

    /* The .gz beside the file, with the original's type. */
    expect_found("style.css", NULL, g, "GZ-CSS", "text/css; charset=utf-8", 1);
    expect_found("gzdir/", "index.html", g, "GZ-INDEX", HTML, 1);
    /* No .gz: the file itself. */
    expect_found("hello.txt", NULL, g, "hello world\n", TXT, 0);
    /* A .gz that is a FIFO or a symlink is not used. */
    expect_found("gzfifo.txt", NULL, g, "plain\n", TXT, 0);
    expect_found("gzlink.txt", NULL, g, "plain\n", TXT, 0);
    /* Not asked for: never. */
    expect_found("gzdir/", "index.html", 0, "<h1>gz</h1>\n", HTML, 0);
}

Test(static_open, openat2_probe)
{
    int have = herd_static_have_openat2();

    cr_assert(have == 0 || have == 1);
    cr_assert_eq(herd_static_have_openat2(), have);
    cr_log_info("openat2 %s", have ? "in use" : "unavailable: walk");
}

/*
 * Make openat2 fail with error in this test's process (each Criterion
 * test runs in its own), as an old kernel or a container's seccomp
 * profile would.
 */
static void
block_openat2(int error)
{
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned)error),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {HERD_ARRAY_LEN(code), code};

    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
        teardown(); /* .fini does not run after a skip */
        cr_skip_test("no seccomp filters here: %s", strerror(errno));
    }
}

/* The verdicts that matter most, when openat2 is not there. */
static void
expect_without_openat2(void)
{
    cr_assert_eq(herd_static_have_openat2(), 0);
    expect_found("hello.txt", NULL, 0, "hello world\n", TXT, 0);
    expect_found("sub/", "index.html", 0, "<h1>sub</h1>\n", HTML, 0);
    expect_found("style.css", NULL, HERD_STATIC_GZIP, "GZ-CSS",
                 "text/css; charset=utf-8", 1);
    expect("sub", "index.html", 0, HERD_STATIC_REDIRECT);
    expect("link_in", NULL, 0, HERD_STATIC_NOT_FOUND);
    expect("linkdir_out/secret.txt", NULL, 0, HERD_STATIC_NOT_FOUND);
    expect(".git/config", NULL, 0, HERD_STATIC_NOT_FOUND);
    expect("fifo", NULL, 0, HERD_STATIC_NOT_FOUND);
}

Test(static_open, falls_back_on_enosys)
{
    block_openat2(ENOSYS);
    expect_without_openat2();
}

Test(static_open, falls_back_on_eperm)
{
    block_openat2(EPERM);
    expect_without_openat2();
}

Test(static_open, close_accepts_null_and_closed)
{
    struct herd_static_file f;

    f.fd = -1;
    herd_static_close(NULL);
    herd_static_close(&f);
    cr_assert_eq(f.fd, -1);
}

Test(static_open, not_found_reasons)
{
    struct herd_static_file f;
    char err[HERD_ERR_LEN];

    cr_assert_eq(open_in(0, ".env", NULL, 0, &f, err), HERD_STATIC_NOT_FOUND);
    cr_assert_not_null(strstr(err, "dotfile"), "%s", err);
    cr_assert_eq(open_in(0, "fifo", NULL, 0, &f, err), HERD_STATIC_NOT_FOUND);
    cr_assert_not_null(strstr(err, "not a regular file"), "%s", err);
    cr_assert_eq(open_in(0, "sub", "index.html", 0, &f, err),
                 HERD_STATIC_REDIRECT);
    cr_assert_not_null(strstr(err, "directory"), "%s", err);
    cr_assert_eq(open_in(0, "../x", NULL, 0, &f, err), HERD_STATIC_BAD_PATH);
    cr_assert_not_null(strstr(err, "dot segment"), "%s", err);
}

Test(static_index, valid_names)
{
    cr_assert(herd_static_index_valid("index.html"));
    cr_assert(herd_static_index_valid(".index"));
    cr_assert(herd_static_index_valid("..."));
    cr_assert_not(herd_static_index_valid(NULL));
    cr_assert_not(herd_static_index_valid(""));
    cr_assert_not(herd_static_index_valid("."));
    cr_assert_not(herd_static_index_valid(".."));
    cr_assert_not(herd_static_index_valid("a/index.html"));
    cr_assert_not(herd_static_index_valid("/index.html"));
}

/* ---- dates ------------------------------------------------------------ */

static void
expect_date(time_t t, const char *want)
{
    char buf[32];
    size_t n = herd_static_format_date(t, buf, sizeof(buf));

    cr_assert_str_eq(buf, want, "%lld", (long long)t);
    cr_assert_eq(n, 29);
}

Test(static_date, format_known_dates)
{
    expect_date(0, "Thu, 01 Jan 1970 00:00:00 GMT");
    expect_date(784111777, "Sun, 06 Nov 1994 08:49:37 GMT");
    expect_date(951782400, "Tue, 29 Feb 2000 00:00:00 GMT");
    expect_date(1700000000, "Tue, 14 Nov 2023 22:13:20 GMT");
    expect_date(4107542399, "Sun, 28 Feb 2100 23:59:59 GMT");
    expect_date(4107542400, "Mon, 01 Mar 2100 00:00:00 GMT");
    expect_date(253402300799, "Fri, 31 Dec 9999 23:59:59 GMT");
    /* Clamped at both ends. */
    expect_date(-1, "Thu, 01 Jan 1970 00:00:00 GMT");
    expect_date(253402300800, "Fri, 31 Dec 9999 23:59:59 GMT");
}

Test(static_date, format_agrees_with_gmtime)
{
    char mine[32], libc[64];
    struct tm tm;
    time_t t;
    unsigned long long x = 88172645463325252ULL;
    int i;

    setlocale(LC_TIME, "C");
    for (i = 0; i < 200000; i++) {
        /* xorshift64: reproducible times over 1970-9999. */
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        t = (time_t)(x % 253402300800ULL);
        if (i < 1000)
            t = (time_t)i * 86399 * 37;
        cr_assert_not_null(gmtime_r(&t, &tm));
        strftime(libc, sizeof(libc), "%a, %d %b %Y %H:%M:%S GMT", &tm);
        herd_static_format_date(t, mine, sizeof(mine));
        cr_assert_str_eq(mine, libc, "%lld", (long long)t);
    }
}

Test(static_date, parse_round_trips)
{
    char buf[32];
    time_t t, got;
    unsigned long long x = 2463534242ULL;
    int i;

    for (i = 0; i < 100000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        t = (time_t)(x % 253402300800ULL);
        herd_static_format_date(t, buf, sizeof(buf));
        cr_assert_eq(herd_static_parse_date(buf, strlen(buf), &got), HERD_OK,
                     "%s", buf);
        cr_assert_eq(got, t, "%s", buf);
    }
}

/* Parse the C string s; expect want, or HERD_ERR when bad is set. */
static void
expect_parse(const char *s, time_t want)
{
    time_t t = 0;

    cr_assert_eq(herd_static_parse_date(s, strlen(s), &t), HERD_OK,
                 "\"%s\" refused", s);
    cr_assert_eq(t, want, "\"%s\": %lld", s, (long long)t);
}

static void
expect_parse_bad(const char *s)
{
    time_t t = 42;

    cr_assert_eq(herd_static_parse_date(s, strlen(s), &t), HERD_ERR,
                 "\"%s\" accepted", s);
    cr_assert_eq(t, 42);
}

Test(static_date, parse_three_forms)
{
    expect_parse("Sun, 06 Nov 1994 08:49:37 GMT", 784111777);
    expect_parse("Sunday, 06-Nov-94 08:49:37 GMT", 784111777);
    expect_parse("Sun Nov  6 08:49:37 1994", 784111777);
    expect_parse("Sun Nov 06 08:49:37 1994", 784111777);
    expect_parse("  Sun, 06 Nov 1994 08:49:37 GMT\t", 784111777);
    expect_parse("Wednesday, 09-Nov-99 23:12:40 GMT", 942189160);
    /* Two-digit years: 70-99 are 19xx, 00-69 are 20xx. */
    expect_parse("Thursday, 01-Jan-70 00:00:00 GMT", 0);
    expect_parse("Monday, 01-Jan-69 00:00:00 GMT", 3124224000);
    expect_parse("Saturday, 01-Jan-00 00:00:00 GMT", 946684800);
    /* The weekday is not checked against the date. */
    expect_parse("Mon, 06 Nov 1994 08:49:37 GMT", 784111777);
    expect_parse("Tue, 29 Feb 2000 00:00:00 GMT", 951782400);
    expect_parse("Thu, 29 Feb 2024 12:00:00 GMT", 1709208000);
    expect_parse("Fri, 31 Dec 9999 23:59:59 GMT", 253402300799);
    expect_parse("Thu, 01 Jan 1970 00:00:00 GMT", 0);
    /* Before 1970 is a valid, negative, time. */
    expect_parse("Mon, 01 Jan 1900 00:00:00 GMT", -2208988800);
    /* A leap second is accepted as the next second. */
    expect_parse("Sat, 31 Dec 2016 23:59:60 GMT", 1483228800);
    expect_parse("Sun, 06 Nov 1994 08:49:37 GMT", 784111777);
}

Test(static_date, parse_garbage)
{
    expect_parse_bad("");
    expect_parse_bad("yesterday");
    expect_parse_bad("1994-11-06T08:49:37Z");
    expect_parse_bad("784111777");
    expect_parse_bad("Sun, 06 Nov 1994 08:49:37 UTC");
    expect_parse_bad("Sun, 06 Nov 1994 08:49:37 gmt");
    expect_parse_bad("sun, 06 Nov 1994 08:49:37 GMT");
    expect_parse_bad("Sun, 06 nov 1994 08:49:37 GMT");
    expect_parse_bad("Xyz, 06 Nov 1994 08:49:37 GMT");
    expect_parse_bad("Sun, 6 Nov 1994 08:49:37 GMT");
    expect_parse_bad("Sun, 06 Nov 94 08:49:37 GMT");
    expect_parse_bad("Sun, 06 Nov 1994 08:49:37 GMT x");
    expect_parse_bad("Sun, 06 Nov 1994 8:49:37 GMT");
    expect_parse_bad("Sun, 06 Nov 1994 08.49.37 GMT");
    expect_parse_bad("Sun,  06 Nov 1994 08:49:37 GMT");
    expect_parse_bad("Sun, 30 Feb 2000 00:00:00 GMT");
    expect_parse_bad("Sun, 29 Feb 1900 00:00:00 GMT");
    expect_parse_bad("Sun, 29 Feb 2023 00:00:00 GMT");
    expect_parse_bad("Sun, 31 Apr 2023 00:00:00 GMT");
    expect_parse_bad("Sun, 00 Nov 1994 08:49:37 GMT");
    expect_parse_bad("Sun, 06 Nov 0000 08:49:37 GMT");
    expect_parse_bad("Sun, 06 Nov 1994 24:00:00 GMT");
    expect_parse_bad("Sun, 06 Nov 1994 23:60:00 GMT");
    expect_parse_bad("Sun, 06 Nov 1994 23:59:61 GMT");
    expect_parse_bad("Sun, 06 Nov 1994 08:49:3a GMT");
    expect_parse_bad("Sun, 06 Nov -994 08:49:37 GMT");
    expect_parse_bad("Sunday, 06-Nov-1994 08:49:37 GMT");
    expect_parse_bad("Sunday, 06 Nov 94 08:49:37 GMT");
    expect_parse_bad("Sundae, 06-Nov-94 08:49:37 GMT");
    expect_parse_bad("Sun, 06-Nov-94 08:49:37 GMT");
    expect_parse_bad("Sun Nov  6 08:49:37 1994 GMT");
    expect_parse_bad("Sun Nov 6 08:49:37 1994");
    expect_parse_bad("Sun Nov  x 08:49:37 1994");
    cr_assert_eq(herd_static_parse_date(NULL, 0, NULL), HERD_ERR);
}

Test(static_date, parse_respects_len)
{
    time_t t;
    const char *s = "Sun, 06 Nov 1994 08:49:37 GMT";

    cr_assert_eq(herd_static_parse_date(s, 28, &t), HERD_ERR);
    cr_assert_eq(herd_static_parse_date(s, 29, &t), HERD_OK);
}

/* ---- validators and conditionals -------------------------------------- */

#define MTIME   1700000000
#define ETAG    "\"1234-17979cfe3d85cd15\""
#define LASTMOD "Tue, 14 Nov 2023 22:13:20 GMT"

static struct herd_static_validators v;

static void
setup_validators(void)
{
    struct stat st;

    memset(&st, 0, sizeof(st));
    st.st_size = 0x1234;
    st.st_mtim.tv_sec = MTIME;
    st.st_mtim.tv_nsec = 123456789;
    herd_static_validators(&st, &v);
}

TestSuite(static_cond, .init = setup_validators);

Test(static_cond, validators)
{
    struct stat st;
    struct herd_static_validators z;

    cr_assert_str_eq(v.etag, ETAG);
    cr_assert_eq(v.etag_len, strlen(ETAG));
    cr_assert_str_eq(v.last_modified, LASTMOD);
    cr_assert_eq(v.last_modified_len, 29);
    cr_assert_eq(v.mtime, MTIME);

    memset(&st, 0, sizeof(st));
    herd_static_validators(&st, &z);
    cr_assert_str_eq(z.etag, "\"0-0\"");
    cr_assert_str_eq(z.last_modified, "Thu, 01 Jan 1970 00:00:00 GMT");

    /* The widest: both fields at 16 hex digits. */
    st.st_size = 0x7fffffffffffffffLL;
    st.st_mtim.tv_sec = 18446744073LL;
    st.st_mtim.tv_nsec = 709551615;
    herd_static_validators(&st, &z);
    cr_assert_str_eq(z.etag, "\"7fffffffffffffff-ffffffffffffffff\"");
    cr_assert_eq(z.etag_len, 35);
}

Test(static_cond, validators_track_size_and_nanoseconds)
{
    struct stat st;
    struct herd_static_validators a, b;

    memset(&st, 0, sizeof(st));
    st.st_size = 10;
    st.st_mtim.tv_sec = MTIME;
    herd_static_validators(&st, &a);
    st.st_mtim.tv_nsec = 1;
    herd_static_validators(&st, &b);
    cr_assert_str_neq(a.etag, b.etag);
    cr_assert_str_eq(a.last_modified, b.last_modified);
    st.st_size = 11;
    herd_static_validators(&st, &a);
    cr_assert_str_neq(a.etag, b.etag);
}

/* herd_static_conditional with C strings (NULL: absent). */
static int
cond(const char *inm, const char *ims)
{
    return herd_static_conditional(&v, inm, inm ? strlen(inm) : 0, ims,
                                   ims ? strlen(ims) : 0);
}

Test(static_cond, none)
{
    cr_assert_eq(cond(NULL, NULL), 0);
}

Test(static_cond, if_none_match)
{
    cr_assert_eq(cond(ETAG, NULL), 304);
    cr_assert_eq(cond("W/" ETAG, NULL), 304);
    cr_assert_eq(cond("*", NULL), 304);
    cr_assert_eq(cond(" * ", NULL), 304);
    cr_assert_eq(cond("\"other\"", NULL), 0);
    cr_assert_eq(cond("\"1234-17979cfe3d85cd14\"", NULL), 0);
    cr_assert_eq(cond("\"other\", " ETAG, NULL), 304);
    cr_assert_eq(cond("\"a\",W/\"b\" ,  " ETAG " , \"c\"", NULL), 304);
    cr_assert_eq(cond("\"a\", W/" ETAG, NULL), 304);
    cr_assert_eq(cond("\"a\", \"b\"", NULL), 0);
    cr_assert_eq(cond(", ," ETAG ",", NULL), 304);
    /* Unquoted or broken: nothing matches. */
    cr_assert_eq(cond("1234-17979cfe3d85cd15", NULL), 0);
    cr_assert_eq(cond("\"a\" junk, " ETAG, NULL), 0);
    cr_assert_eq(cond("\"unterminated", NULL), 0);
    cr_assert_eq(cond("w/" ETAG, NULL), 0);
    cr_assert_eq(cond("\"a\", *", NULL), 0);
    cr_assert_eq(cond("", NULL), 0);
}

Test(static_cond, if_modified_since)
{
    cr_assert_eq(cond(NULL, LASTMOD), 304);
    cr_assert_eq(cond(NULL, "Tue, 14 Nov 2023 22:13:21 GMT"), 304);
    cr_assert_eq(cond(NULL, "Tue, 14 Nov 2023 22:13:19 GMT"), 0);
    cr_assert_eq(cond(NULL, "Thu, 01 Jan 1970 00:00:00 GMT"), 0);
    cr_assert_eq(cond(NULL, "Fri, 31 Dec 9999 23:59:59 GMT"), 304);
    cr_assert_eq(cond(NULL, "Tuesday, 14-Nov-23 22:13:20 GMT"), 304);
    cr_assert_eq(cond(NULL, "Tue Nov 14 22:13:20 2023"), 304);
    cr_assert_eq(cond(NULL, "garbage"), 0);
    cr_assert_eq(cond(NULL, ""), 0);
}

Test(static_cond, if_none_match_overrides_if_modified_since)
{
    cr_assert_eq(cond("\"other\"", LASTMOD), 0);
    cr_assert_eq(cond("", LASTMOD), 0);
    cr_assert_eq(cond("junk", LASTMOD), 0);
    cr_assert_eq(cond(ETAG, "Thu, 01 Jan 1970 00:00:00 GMT"), 304);
}

/* herd_static_if_range on a C string (NULL: absent). */
static int
if_range(const char *s)
{
    return herd_static_if_range(&v, s, s ? strlen(s) : 0);
}

Test(static_cond, if_range)
{
    cr_assert_eq(if_range(NULL), 1);
    cr_assert_eq(if_range(ETAG), 1);
    cr_assert_eq(if_range(" " ETAG " "), 1);
    cr_assert_eq(if_range(LASTMOD), 1);
    cr_assert_eq(if_range("Tuesday, 14-Nov-23 22:13:20 GMT"), 1);
    /* Weak tags never match in If-Range; nor another tag or date. */
    cr_assert_eq(if_range("W/" ETAG), 0);
    cr_assert_eq(if_range("\"other\""), 0);
    cr_assert_eq(if_range("Tue, 14 Nov 2023 22:13:21 GMT"), 0);
    cr_assert_eq(if_range("Tue, 14 Nov 2023 22:13:19 GMT"), 0);
    /* Malformed: ignore the Range. */
    cr_assert_eq(if_range(ETAG ", \"x\""), 0);
    cr_assert_eq(if_range(ETAG "x"), 0);
    cr_assert_eq(if_range("*"), 0);
    cr_assert_eq(if_range("W/"), 0);
    cr_assert_eq(if_range("garbage"), 0);
    cr_assert_eq(if_range(""), 0);
}

Test(static_cond, if_range_date_on_a_wednesday)
{
    struct herd_static_validators w;
    struct stat st;
    const char *d = "Wed, 15 Nov 2023 00:00:00 GMT";

    memset(&st, 0, sizeof(st));
    st.st_mtim.tv_sec = 1700006400;
    herd_static_validators(&st, &w);
    cr_assert_str_eq(w.last_modified, d);
    cr_assert_eq(herd_static_if_range(&w, d, strlen(d)), 1);
    cr_assert_eq(herd_static_if_range(&w, "W/\"0-0\"", 7), 0);
}

/* ---- ranges ----------------------------------------------------------- */

/* Expect status for range over size, with start and length when 206. */
static void
expect_range(const char *range, off_t size, int status, off_t start,
             off_t length)
{
    off_t s = -7, l = -7;
    int got = herd_static_range(range, range ? strlen(range) : 0, size, &s, &l);

    cr_assert_eq(got, status, "\"%s\" of %lld: %d, want %d", range,
                 (long long)size, got, status);
    if (status == 206) {
        cr_assert_eq(s, start, "\"%s\": start %lld", range, (long long)s);
        cr_assert_eq(l, length, "\"%s\": length %lld", range, (long long)l);
    } else {
        cr_assert(s == -7 && l == -7, "\"%s\": outputs touched", range);
    }
}

Test(static_range, absent)
{
    expect_range(NULL, 1000, 200, 0, 0);
}

Test(static_range, int_ranges)
{
    expect_range("bytes=0-499", 1000, 206, 0, 500);
    expect_range("bytes=500-999", 1000, 206, 500, 500);
    expect_range("bytes=0-0", 1000, 206, 0, 1);
    expect_range("bytes=999-999", 1000, 206, 999, 1);
    expect_range("bytes=0-999", 1000, 206, 0, 1000);
    expect_range("bytes=10-10", 1000, 206, 10, 1);
    /* The last position is clamped to the end. */
    expect_range("bytes=999-2000", 1000, 206, 999, 1);
    expect_range("bytes=0-5000", 1000, 206, 0, 1000);
}

Test(static_range, open_ranges)
{
    expect_range("bytes=500-", 1000, 206, 500, 500);
    expect_range("bytes=0-", 1000, 206, 0, 1000);
    expect_range("bytes=999-", 1000, 206, 999, 1);
}

Test(static_range, suffix_ranges)
{
    expect_range("bytes=-200", 1000, 206, 800, 200);
    expect_range("bytes=-1", 1000, 206, 999, 1);
    expect_range("bytes=-999", 1000, 206, 1, 999);
    /* Longer than the file: all of it. */
    expect_range("bytes=-1000", 1000, 206, 0, 1000);
    expect_range("bytes=-5000", 1000, 206, 0, 1000);
}

Test(static_range, unsatisfiable)
{
    expect_range("bytes=1000-", 1000, 416, 0, 0);
    expect_range("bytes=1000-1001", 1000, 416, 0, 0);
    expect_range("bytes=5000-6000", 1000, 416, 0, 0);
    expect_range("bytes=-0", 1000, 416, 0, 0);
}

Test(static_range, empty_file)
{
    expect_range("bytes=0-", 0, 416, 0, 0);
    expect_range("bytes=0-0", 0, 416, 0, 0);
    expect_range("bytes=-0", 0, 416, 0, 0);
    /* A satisfiable suffix of nothing: 206 cannot say so, send 200. */
    expect_range("bytes=-1", 0, 200, 0, 0);
    expect_range("bytes=-100", 0, 200, 0, 0);
}

Test(static_range, one_byte_file)
{
    expect_range("bytes=0-", 1, 206, 0, 1);
    expect_range("bytes=-1", 1, 206, 0, 1);
    expect_range("bytes=-2", 1, 206, 0, 1);
    expect_range("bytes=0-0", 1, 206, 0, 1);
    expect_range("bytes=1-", 1, 416, 0, 0);
}

Test(static_range, syntax_details)
{
    expect_range("Bytes=0-1", 1000, 206, 0, 2);
    expect_range("BYTES=0-1", 1000, 206, 0, 2);
    expect_range(" bytes=0-1 ", 1000, 206, 0, 2);
    expect_range("bytes= 0-1", 1000, 206, 0, 2);
    expect_range("bytes=0-1 ,", 1000, 206, 0, 2);
    expect_range("bytes=,0-1", 1000, 206, 0, 2);
    expect_range("bytes=, ,0-1, ,", 1000, 206, 0, 2);
    expect_range("bytes=007-009", 1000, 206, 7, 3);
}

Test(static_range, malformed_ignored)
{
    expect_range("", 1000, 200, 0, 0);
    expect_range("bytes", 1000, 200, 0, 0);
    expect_range("bytes=", 1000, 200, 0, 0);
    expect_range("bytes=,", 1000, 200, 0, 0);
    expect_range("bytes=-", 1000, 200, 0, 0);
    expect_range("bytes=5-4", 1000, 200, 0, 0);
    expect_range("bytes=abc", 1000, 200, 0, 0);
    expect_range("bytes=1-2-3", 1000, 200, 0, 0);
    expect_range("bytes=0 -1", 1000, 200, 0, 0);
    expect_range("bytes=0- 1", 1000, 200, 0, 0);
    expect_range("bytes=+1-2", 1000, 200, 0, 0);
    expect_range("bytes=0x1-2", 1000, 200, 0, 0);
    expect_range("bytes=1", 1000, 200, 0, 0);
    expect_range("bytes=--1", 1000, 200, 0, 0);
    expect_range("bytes =0-1", 1000, 200, 0, 0);
    expect_range("bytes 0-1", 1000, 200, 0, 0);
    expect_range("items=0-1", 1000, 200, 0, 0);
    expect_range("byte=0-1", 1000, 200, 0, 0);
    expect_range("bytesx=0-1", 1000, 200, 0, 0);
    /* Invalid beats unsatisfiable: 5000-10 is malformed, not 416. */
    expect_range("bytes=5000-10", 1000, 200, 0, 0);
}

Test(static_range, multiple_ranges_ignored)
{
    expect_range("bytes=0-1,2-3", 1000, 200, 0, 0);
    expect_range("bytes=0-1, 5-6", 1000, 200, 0, 0);
    expect_range("bytes=0-0,-1", 1000, 200, 0, 0);
    expect_range("bytes=0-1,0-1", 1000, 200, 0, 0);
    expect_range("bytes=5000-,6000-", 1000, 200, 0, 0);
    expect_range("bytes=0-1,junk", 1000, 200, 0, 0);
}

Test(static_range, huge_numbers_saturate)
{
    off_t big = (off_t)1 << 40;

    expect_range("bytes=99999999999999999999999-", 1000, 416, 0, 0);
    expect_range("bytes=99999999999999999999999-99999999999999999999999", 1000,
                 416, 0, 0);
    expect_range("bytes=0-99999999999999999999999", 1000, 206, 0, 1000);
    expect_range("bytes=-99999999999999999999999", 1000, 206, 0, 1000);
    expect_range("bytes=9223372036854775807-", 1000, 416, 0, 0);
    expect_range("bytes=1099511627775-", big, 206, big - 1, 1);
    expect_range("bytes=-1", big, 206, big - 1, 1);
    expect_range("bytes=1099511627776-", big, 416, 0, 0);
}

Test(static_range, respects_len)
{
    off_t s, l;

    /* Only "bytes=0-4" of "bytes=0-49" is given. */
    cr_assert_eq(herd_static_range("bytes=0-49", 9, 1000, &s, &l), 206);
    cr_assert_eq(l, 5);
}

/* ---- Accept-Encoding -------------------------------------------------- */

static int
gz(const char *ae)
{
    return herd_static_accepts_gzip(ae, ae ? strlen(ae) : 0);
}

Test(static_gzip, accepted)
{
    cr_assert_eq(gz("gzip"), 1);
    cr_assert_eq(gz("GZIP"), 1);
    cr_assert_eq(gz("x-gzip"), 1);
    cr_assert_eq(gz("X-Gzip"), 1);
    cr_assert_eq(gz("gzip, deflate, br"), 1);
    cr_assert_eq(gz("deflate, gzip"), 1);
    cr_assert_eq(gz("br;q=1.0, gzip;q=0.8, *;q=0.1"), 1);
    cr_assert_eq(gz("gzip;q=1"), 1);
    cr_assert_eq(gz("gzip;q=1.0"), 1);
    cr_assert_eq(gz("gzip;q=1.000"), 1);
    cr_assert_eq(gz("gzip;q=0.5"), 1);
    cr_assert_eq(gz("gzip;q=0.001"), 1);
    cr_assert_eq(gz("gzip;Q=0.5"), 1);
    cr_assert_eq(gz("gzip ; q=0.5"), 1);
    cr_assert_eq(gz("gzip;level=9"), 1);
    cr_assert_eq(gz("gzip;"), 1);
    cr_assert_eq(gz("gzip;;q=1"), 1);
    cr_assert_eq(gz(",, gzip ,,"), 1);
    cr_assert_eq(gz("deflate;foo=\"a,gzip;q=0\", gzip"), 1);
    cr_assert_eq(gz("*"), 1);
    cr_assert_eq(gz("*;q=0.1"), 1);
    cr_assert_eq(gz("br, *"), 1);
    cr_assert_eq(gz("*;q=0, gzip"), 1);
    cr_assert_eq(gz("x-gzip;q=0, gzip"), 1);
}

Test(static_gzip, refused)
{
    cr_assert_eq(gz(NULL), 0);
    cr_assert_eq(gz(""), 0);
    cr_assert_eq(gz(" "), 0);
    cr_assert_eq(gz("identity"), 0);
    cr_assert_eq(gz("br, deflate"), 0);
    cr_assert_eq(gz("gzipx"), 0);
    cr_assert_eq(gz("gz"), 0);
    cr_assert_eq(gz("gzip;q=0"), 0);
    cr_assert_eq(gz("gzip; q=0"), 0);
    cr_assert_eq(gz("gzip;q=0.0"), 0);
    cr_assert_eq(gz("gzip;q=0.000"), 0);
    cr_assert_eq(gz("gzip;Q=0"), 0);
    cr_assert_eq(gz("*;q=0"), 0);
    cr_assert_eq(gz("gzip;q=0, *"), 0);
    cr_assert_eq(gz("gzip;q=0, *;q=1"), 0);
    cr_assert_eq(gz("identity, *;q=0"), 0);
    cr_assert_eq(gz("deflate;foo=\"a,gzip\""), 0);
}

Test(static_gzip, bad_weights_refuse)
{
    cr_assert_eq(gz("gzip;q=2"), 0);
    cr_assert_eq(gz("gzip;q=1.5"), 0);
    cr_assert_eq(gz("gzip;q=1.001"), 0);
    cr_assert_eq(gz("gzip;q=0.0001"), 0);
    cr_assert_eq(gz("gzip;q=abc"), 0);
    cr_assert_eq(gz("gzip;q="), 0);
    cr_assert_eq(gz("gzip;q=0.5x"), 0);
    cr_assert_eq(gz("gzip;q=-1"), 0);
    cr_assert_eq(gz("gzip;q=.5"), 0);
    /* A bad weight refuses that coding only. */
    cr_assert_eq(gz("gzip;q=2, *"), 0);
    cr_assert_eq(gz("br;q=2, gzip"), 1);
}

Test(static_gzip, malformed_elements_skipped)
{
    cr_assert_eq(gz("@@@, gzip"), 1);
    cr_assert_eq(gz("gzip junk"), 0);
    cr_assert_eq(gz("gzip;=1"), 0);
    cr_assert_eq(gz("gzip;q"), 0);
    cr_assert_eq(gz("gzip;a=\"unterminated"), 0);
    cr_assert_eq(gz("deflate junk, gzip"), 1);
}

Test(static_gzip, respects_len)
{
    cr_assert_eq(herd_static_accepts_gzip("gzip;q=0", 4), 1);
    cr_assert_eq(herd_static_accepts_gzip("gzipx", 4), 1);
    cr_assert_eq(herd_static_accepts_gzip("gzip", 3), 0);
}
