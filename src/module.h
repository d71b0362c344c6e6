/* module.h: loading herd modules (shared objects) and running their hooks. */
#ifndef HERD_MODULE_H
#define HERD_MODULE_H

#include <stddef.h>

#include "common.h"
#include "config.h"
#include "herd.h"

struct event_base;

/* One shared object, loaded once per configuration however many routes
   use it. */
struct herd_module {
    struct herd_module *next;
    char *file; /* as configured */
    void *dl;   /* dlopen(3) handle */
    int memfd;  /* the private copy dlopen mapped; -1 when none */
    int (*init)(struct herd_module_config *);
    int (*worker_init)(struct herd_module_config *);
    void (*worker_exit)(struct herd_module_config *);
};

/* What herd_module_load could not do. */
enum herd_module_fault {
    HERD_MODULE_FILE = 1, /* the file: missing, unreadable, not a module */
    HERD_MODULE_SYMBOL,   /* the handler symbol is not in it */
};

/*
 * Resolve mc->handler in mc->file, loading the file unless *list already
 * has it (then the same handle serves both routes), and set mc->mod and
 * mc->fn. The file is copied into a private memory file first and the
 * copy is loaded, so a new configuration always gets the code on disk
 * now (dlopen would hand back the old one for the same path) and
 * replacing the file never disturbs a process running the old code.
 * Returns HERD_OK, or HERD_ERR with *fault and the reason in err.
 */
int herd_module_load(struct herd_module **list, struct herd_module_config *mc,
                     enum herd_module_fault *fault, char *err, size_t errlen);

/* Unload every module of list (the master, when a configuration is
   freed). Accepts NULL. */
void herd_module_unload_all(struct herd_module *list);

/*
 * Run herd_module_init for the module route mc, if the module has it.
 * HERD_OK, or HERD_ERR with the module's herd_config_error() text in err.
 */
int herd_module_run_init(struct herd_module_config *mc, char *err,
                         size_t errlen);

/*
 * In a worker, before it serves: make base herd_event_base()'s answer and
 * run herd_module_worker_init for every module route of cfg, in order.
 * HERD_OK, or HERD_ERR with "routes[N] (FILE:LINE:COL): reason" in err
 * (the routes initialised before it are stopped again).
 */
int herd_module_worker_start(const struct herd_config *cfg,
                             struct event_base *base, char *err, size_t errlen);

/* In a worker that stops gracefully: herd_module_worker_exit for every
   module route whose worker_init succeeded, in reverse order. */
void herd_module_worker_stop(const struct herd_config *cfg);

#endif
