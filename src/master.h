/* master.h: the master: binds listeners, forks and supervises workers. */
#ifndef HERD_MASTER_H
#define HERD_MASTER_H

#include "config.h"

/*
 * Run the master for cfg, loaded from path, until it is told to stop: open
 * the error log, lock the pid file, bind every listener, fork cfg->workers
 * workers, then supervise them (respawn, hung-worker kill, SIGHUP reload
 * of path, SIGTTIN/SIGTTOU, max_requests). Takes ownership of cfg; path
 * must stay valid. Returns the process exit status: 0 after a stop on
 * request, 1 when it could not start.
 */
int herd_master_run(struct herd_config *cfg, const char *path);

#endif
