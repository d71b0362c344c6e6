/* notify.c: tell systemd when herd is ready, reloading, stopping. */
#include "notify.h"

#include <stdio.h>
#include <string.h>

#include "log.h"

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>

static int failed; /* logged once */

static void
notify(const char *state)
{
    int rc = sd_notify(0, state);

    if (rc < 0 && !failed) {
        failed = 1;
        herd_log_warn("sd_notify(\"%s\") failed (%d: %s)", state, -rc,
                      strerror(-rc));
    }
}

int
herd_notify_available(void)
{
    return 1;
}
#else
static void
notify(const char *state)
{
    (void)state;
}

int
herd_notify_available(void)
{
    return 0;
}
#endif

void
herd_notify_ready(unsigned generation, int workers)
{
    char state[128];

    snprintf(state, sizeof(state),
             "READY=1\nSTATUS=generation %u serving with %d worker(s)",
             generation, workers);
    notify(state);
}

void
herd_notify_reloading(void)
{
    notify("RELOADING=1\nSTATUS=reloading");
}

void
herd_notify_stopping(void)
{
    notify("STOPPING=1\nSTATUS=stopping");
}
