/* notify.h: tell systemd when herd is ready, reloading, stopping. */
#ifndef HERD_NOTIFY_H
#define HERD_NOTIFY_H

#include "common.h"

/* Whether herd was built with libsystemd (configure --with-systemd). */
int herd_notify_available(void);

/*
 * Send "READY=1" with a STATUS line, "RELOADING=1" or "STOPPING=1" to the
 * service manager, when $NOTIFY_SOCKET names one; nothing otherwise, or
 * without libsystemd. Failures are logged once, never fatal.
 */
void herd_notify_ready(unsigned generation, int workers);
void herd_notify_reloading(void);
void herd_notify_stopping(void);

#endif
