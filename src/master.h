/* master.h: the master: binds listeners, forks and supervises workers. */
#ifndef HERD_MASTER_H
#define HERD_MASTER_H

#include "config.h"

/*
 * Run the master for cfg until it is told to stop: open the error log,
 * bind every listener, fork cfg->workers workers, reap and respawn them.
 * Takes ownership of cfg. Returns the process exit status (0 after a
 * graceful stop).
 */
int herd_master_run(struct herd_config *cfg);

#endif
