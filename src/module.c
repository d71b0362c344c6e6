/* module.c: loading herd modules (shared objects) and running their hooks. */
#include "module.h"

#include <dlfcn.h>
#include <link.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

/* The worker's event loop, for herd_event_base(); NULL in the master. */
static struct event_base *module_base;

/*
 * Copy the file at path into a new memory file and return its descriptor
 * (-1 with errno set). Its name shows in /proc/PID/maps as
 * "/memfd:herd:NAME", so a core or a pmap still says which module it is.
 */
static int
private_copy(const char *path, char *err, size_t errlen)
{
    char name[64];
    const char *base = strrchr(path, '/');
    struct stat st;
    ssize_t n;
    int fd, mfd, saved;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return herd_errf(err, errlen, "cannot open \"%s\": %s", path,
                         strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return herd_errf(err, errlen, "\"%s\" is not a regular file", path);
    }
    snprintf(name, sizeof(name), "herd:%s", base != NULL ? base + 1 : path);
    mfd = memfd_create(name, MFD_CLOEXEC);
    if (mfd < 0) {
        saved = errno;
        close(fd);
        errno = saved;
        return -2; /* no memory files here: load the path itself */
    }
    /* The kernel copies (sendfile writes to any file); the file is read
       to its end, whatever size fstat said. */
    do {
        n = sendfile(mfd, fd, NULL, 1 << 20);
    } while (n > 0 || (n < 0 && errno == EINTR));
    saved = errno;
    close(fd);
    if (n < 0) {
        close(mfd);
        return herd_errf(err, errlen, "cannot copy \"%s\": %s", path,
                         strerror(saved));
    }
    return mfd;
}

/*
 * The name the copy is loaded by, "/proc/self/fd/N", must not be one the
 * process already loaded: dlopen hands back a library it has by that name
 * without reading the file, and an old copy that could not be unloaded
 * (-z nodelete, C++ unique symbols) may still hold a recycled fd's name.
 * Move the copy to another descriptor until its name is free. Returns the
 * descriptor (fd itself or its replacement), -1 when none was found.
 */
static int
memfd_name_free(int fd, char *name, size_t namelen)
{
    void *old;
    int i, next;

    for (i = 0; i < 64; i++) {
        snprintf(name, namelen, "/proc/self/fd/%d", fd);
        old = dlopen(name, RTLD_LAZY | RTLD_NOLOAD);
        if (old == NULL)
            return fd;
        dlclose(old); /* RTLD_NOLOAD took a reference */
        next = fcntl(fd, F_DUPFD_CLOEXEC, fd + 1);
        close(fd);
        if (next < 0)
            return -1;
        fd = next;
    }
    close(fd);
    return -1;
}

/* dlerror() names what dlopen was given; say the configured file instead. */
static void
dl_reason(char *err, size_t errlen, const char *file, const char *loaded)
{
    const char *why = dlerror(), *p;
    size_t n = strlen(loaded);

    if (why == NULL)
        why = "unknown error";
    p = strncmp(why, loaded, n) == 0 ? why + n : NULL;
    if (p != NULL && p[0] == ':' && p[1] == ' ')
        p += 2;
    snprintf(err, errlen, "cannot load \"%s\": %s", file, p != NULL ? p : why);
}

static struct herd_module *
module_open(const char *file, char *err, size_t errlen)
{
    struct herd_module *m;
    char loaded[64 + 4096];
    int mfd;

    m = calloc(1, sizeof(*m));
    if (m == NULL || (m->file = strdup(file)) == NULL) {
        free(m);
        herd_errf(err, errlen, "out of memory");
        return NULL;
    }
    m->memfd = -1;
    mfd = private_copy(file, err, errlen);
    if (mfd == -1)
        goto fail;
    if (mfd >= 0) {
        m->memfd = memfd_name_free(mfd, loaded, sizeof(loaded));
        if (m->memfd < 0) {
            herd_errf(err, errlen,
                      "cannot load \"%s\": no free name for "
                      "its copy",
                      file);
            goto fail;
        }
    } else {
        /* dlopen searches the library path for a name without '/'. */
        snprintf(loaded, sizeof(loaded), "%s%s",
                 strchr(file, '/') != NULL ? "" : "./", file);
    }
    m->dl = dlopen(loaded, RTLD_NOW | RTLD_LOCAL);
    if (m->dl == NULL) {
        dl_reason(err, errlen, file, loaded);
        goto fail;
    }
    *(void **)&m->init = dlsym(m->dl, "herd_module_init");
    *(void **)&m->worker_init = dlsym(m->dl, "herd_module_worker_init");
    *(void **)&m->worker_exit = dlsym(m->dl, "herd_module_worker_exit");
    return m;
fail:
    if (m->memfd >= 0)
        close(m->memfd);
    free(m->file);
    free(m);
    return NULL;
}

static void
module_close(struct herd_module *m)
{
    if (m->dl != NULL)
        dlclose(m->dl);
    if (m->memfd >= 0)
        close(m->memfd);
    free(m->file);
    free(m);
}

/* Whether the symbol at addr is the module's own (dlsym also searches
   the libraries the module depends on). */
static int
defined_in(const struct herd_module *m, void *addr)
{
    struct link_map *lm = NULL;
    Dl_info info;

    if (dlinfo(m->dl, RTLD_DI_LINKMAP, &lm) != 0 || lm == NULL ||
        dladdr(addr, &info) == 0 || info.dli_fname == NULL)
        return 1; /* cannot tell: trust dlsym */
    return strcmp(info.dli_fname, lm->l_name) == 0;
}

int
herd_module_load(struct herd_module **list, struct herd_module_config *mc,
                 enum herd_module_fault *fault, char *err, size_t errlen)
{
    struct herd_module *m;

    for (m = *list; m != NULL; m = m->next) {
        if (strcmp(m->file, mc->file) == 0)
            break;
    }
    if (m == NULL) {
        m = module_open(mc->file, err, errlen);
        if (m == NULL) {
            *fault = HERD_MODULE_FILE;
            return HERD_ERR;
        }
        m->next = *list;
        *list = m;
    }
    mc->mod = m;
    dlerror();
    mc->fn = dlsym(m->dl, mc->handler);
    if (mc->fn != NULL && !defined_in(m, mc->fn))
        mc->fn = NULL; /* found in a library it uses, as "puts" would be */
    if (mc->fn == NULL) {
        *fault = HERD_MODULE_SYMBOL;
        return herd_errf(err, errlen, "\"%s\" has no symbol \"%s\"", mc->file,
                         mc->handler);
    }
    return HERD_OK;
}

void
herd_module_unload_all(struct herd_module *list)
{
    struct herd_module *next;

    for (; list != NULL; list = next) {
        next = list->next;
        module_close(list);
    }
}

int
herd_module_run_init(struct herd_module_config *mc, char *err, size_t errlen)
{
    if (mc->mod == NULL || mc->mod->init == NULL)
        return HERD_OK;
    mc->error[0] = '\0';
    if (mc->mod->init(mc) == 0)
        return HERD_OK;
    return herd_errf(err, errlen, "herd_module_init of \"%s\" failed: %s",
                     mc->file,
                     mc->error[0] != '\0' ? mc->error : "(no reason given)");
}

int
herd_module_worker_start(const struct herd_config *cfg, struct event_base *base,
                         char *err, size_t errlen)
{
    size_t i;

    module_base = base;
    for (i = 0; i < cfg->nroutes; i++) {
        struct herd_route_conf *r = &cfg->routes[i];
        struct herd_module_config *mc = &r->u.module;

        if (r->handler != HERD_HANDLER_MODULE || mc->mod == NULL)
            continue;
        mc->error[0] = '\0';
        if (mc->mod->worker_init != NULL && mc->mod->worker_init(mc) != 0) {
            herd_errf(err, errlen,
                      "routes[%zu] (%s:%d:%d): herd_module_worker_init of "
                      "\"%s\" failed: %s",
                      i, cfg->file, r->line, r->col, mc->file,
                      mc->error[0] != '\0' ? mc->error : "(no reason given)");
            herd_module_worker_stop(cfg);
            return HERD_ERR;
        }
        mc->worker_ready = 1;
    }
    return HERD_OK;
}

void
herd_module_worker_stop(const struct herd_config *cfg)
{
    size_t i;

    for (i = cfg->nroutes; i-- > 0;) {
        struct herd_route_conf *r = &cfg->routes[i];
        struct herd_module_config *mc = &r->u.module;

        if (r->handler != HERD_HANDLER_MODULE || !mc->worker_ready)
            continue;
        mc->worker_ready = 0;
        if (mc->mod->worker_exit != NULL)
            mc->mod->worker_exit(mc);
    }
}

/* ---- herd.h: module configuration ---- */

const char *
herd_config_get(const struct herd_module_config *cfg, const char *key)
{
    size_t i;

    if (cfg == NULL || key == NULL)
        return NULL;
    for (i = 0; i < cfg->nkeys; i++) {
        if (strcmp(cfg->keys[i], key) == 0)
            return cfg->values[i];
    }
    return NULL;
}

const char *
herd_config_route(const struct herd_module_config *cfg)
{
    return cfg != NULL && cfg->route != NULL ? cfg->route : "";
}

void
herd_config_error(struct herd_module_config *cfg, const char *fmt, ...)
{
    va_list ap;

    if (cfg == NULL || fmt == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(cfg->error, sizeof(cfg->error), fmt, ap);
    va_end(ap);
}

void
herd_config_set_data(struct herd_module_config *cfg, void *data)
{
    if (cfg != NULL)
        cfg->data = data;
}

void *
herd_config_data(const struct herd_module_config *cfg)
{
    return cfg != NULL ? cfg->data : NULL;
}

struct event_base *
herd_event_base(void)
{
    return module_base;
}
