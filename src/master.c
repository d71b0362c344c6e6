/* master.c: binds listeners, forks a worker per slot, reaps, respawns. */
#include "master.h"

#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "listener.h"
#include "log.h"
#include "worker.h"

/* A worker that dies is respawned after this delay. */
#define RESPAWN_DELAY_MS 1000
/* Workers still alive this long after a stop request are killed. */
#define STOP_TIMEOUT_S 35

struct slot {
    struct herd_master *m;
    int index;
    pid_t pid;
    struct event *respawn;
};

struct herd_master {
    struct herd_config *cfg;
    struct event_base *base;
    struct herd_listener *listeners;
    size_t nlisteners;
    struct slot *slots;
    int nslots;
    int stopping; /* 0, or the signal that asked for the stop */
    pid_t pid;
    struct event *sigs[4];
    struct event *kill_timer;
};

static const int handled_signals[] = {SIGTERM, SIGINT, SIGQUIT, SIGCHLD};

static int
open_listeners(struct herd_master *m)
{
    char err[HERD_ERR_LEN];
    size_t i;

    m->listeners =
        calloc(m->cfg->nlisten ? m->cfg->nlisten : 1, sizeof(*m->listeners));
    if (m->listeners == NULL)
        return HERD_ERR;
    for (i = 0; i < m->cfg->nlisten; i++) {
        if (herd_listener_open(&m->listeners[i], &m->cfg->listen[i], m->nslots,
                               err, sizeof(err)) != HERD_OK) {
            herd_log_error("%s", err);
            return HERD_ERR;
        }
        m->nlisteners++;
        herd_log_info("listening on %s", m->listeners[i].name);
    }
    return HERD_OK;
}

/* In a new child: become the worker of slot s, never to return. */
static void
become_worker(struct herd_master *m, int s)
{
    sigset_t none;
    size_t i;
    int status;

    /* Never outlive the master: a backstop for when it dies unannounced. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != m->pid)
        _exit(0);
    /* The master's event loop is not ours: re-create its backend so that
       freeing it touches none of the master's kernel state. Its timers
       go first: freeing an event touches its base. */
    event_reinit(m->base);
    for (i = 0; i < (size_t)m->nslots; i++)
        if (m->slots[i].respawn)
            event_free(m->slots[i].respawn);
    event_base_free(m->base);
    m->base = NULL;
    for (i = 0; i < m->nlisteners; i++)
        herd_listener_close_except(&m->listeners[i], s);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    status = herd_worker_run(m->cfg, m->listeners, m->nlisteners, s);
    for (i = 0; i < m->nlisteners; i++)
        herd_listener_close(&m->listeners[i], 0);
    free(m->listeners);
    free(m->slots);
    herd_config_free(m->cfg);
    exit(status);
}

static int
spawn(struct herd_master *m, int s)
{
    sigset_t all, old;
    pid_t pid;

    /* Block signals across fork so the child cannot run the master's
       handlers before it has reset them. */
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old);
    pid = fork();
    if (pid == 0)
        become_worker(m, s);
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (pid < 0) {
        herd_log_error("fork() failed for slot %d (%d: %s)", s, errno,
                       strerror(errno));
        return HERD_ERR;
    }
    m->slots[s].pid = pid;
    herd_log_info("started worker %d (pid %d)", s, (int)pid);
    return HERD_OK;
}

static void
on_respawn(evutil_socket_t fd, short what, void *arg)
{
    struct slot *sl = arg;
    struct timeval tv = {RESPAWN_DELAY_MS / 1000,
                         (RESPAWN_DELAY_MS % 1000) * 1000};

    (void)fd;
    (void)what;
    if (sl->m->stopping)
        return;
    if (spawn(sl->m, sl->index) != HERD_OK)
        evtimer_add(sl->respawn, &tv);
}

static int
live_workers(const struct herd_master *m)
{
    int i, n = 0;

    for (i = 0; i < m->nslots; i++)
        n += m->slots[i].pid > 0;
    return n;
}

static void
reap(struct herd_master *m)
{
    struct timeval tv = {RESPAWN_DELAY_MS / 1000,
                         (RESPAWN_DELAY_MS % 1000) * 1000};
    pid_t pid;
    int status, i;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (i = 0; i < m->nslots && m->slots[i].pid != pid; i++)
            ;
        if (i == m->nslots)
            continue;
        m->slots[i].pid = 0;
        if (WIFSIGNALED(status))
            herd_log(m->stopping ? HERD_LOG_INFO : HERD_LOG_ERROR,
                     "worker %d (pid %d) killed by signal %d (%s)", i, (int)pid,
                     WTERMSIG(status), strsignal(WTERMSIG(status)));
        else
            herd_log(m->stopping || WEXITSTATUS(status) == 0 ? HERD_LOG_INFO
                                                             : HERD_LOG_ERROR,
                     "worker %d (pid %d) exited with status %d", i, (int)pid,
                     WEXITSTATUS(status));
        if (!m->stopping)
            evtimer_add(m->slots[i].respawn, &tv);
    }
    if (m->stopping && live_workers(m) == 0)
        event_base_loopbreak(m->base);
}

static void
signal_workers(struct herd_master *m, int sig)
{
    int i;

    for (i = 0; i < m->nslots; i++)
        if (m->slots[i].pid > 0)
            kill(m->slots[i].pid, sig);
}

static void
on_kill_timer(evutil_socket_t fd, short what, void *arg)
{
    struct herd_master *m = arg;

    (void)fd;
    (void)what;
    herd_log_warn("%d worker(s) still running after %d s: killing them",
                  live_workers(m), STOP_TIMEOUT_S);
    signal_workers(m, SIGKILL);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct herd_master *m = arg;
    struct timeval tv = {STOP_TIMEOUT_S, 0};

    (void)what;
    if (sig == SIGCHLD) {
        reap(m);
        return;
    }
    if (m->stopping == SIGTERM && sig == SIGTERM)
        return;
    m->stopping = sig;
    herd_log_info("%s: stopping %d worker(s)",
                  sig == SIGTERM ? "graceful stop" : "fast stop",
                  live_workers(m));
    signal_workers(m, sig == SIGTERM ? SIGTERM : SIGINT);
    if (!evtimer_pending(m->kill_timer, NULL))
        evtimer_add(m->kill_timer, &tv);
    if (live_workers(m) == 0)
        event_base_loopbreak(m->base);
}

static void
master_free(struct herd_master *m)
{
    size_t i;

    for (i = 0; i < HERD_ARRAY_LEN(m->sigs); i++)
        if (m->sigs[i])
            event_free(m->sigs[i]);
    if (m->kill_timer)
        event_free(m->kill_timer);
    for (i = 0; m->slots && i < (size_t)m->nslots; i++)
        if (m->slots[i].respawn)
            event_free(m->slots[i].respawn);
    free(m->slots);
    for (i = 0; i < m->nlisteners; i++)
        herd_listener_close(&m->listeners[i], 1);
    free(m->listeners);
    if (m->base)
        event_base_free(m->base);
    herd_config_free(m->cfg);
}

int
herd_master_run(struct herd_config *cfg)
{
    struct herd_master m;
    char err[HERD_ERR_LEN];
    size_t i;
    int s, status = 1;

    memset(&m, 0, sizeof(m));
    m.cfg = cfg;
    m.nslots = cfg->workers;
    m.pid = getpid();
    herd_log_set_role("master");
    if (herd_log_open(cfg->log.error, cfg->log.level, err, sizeof(err)) !=
        HERD_OK) {
        fprintf(stderr, "herd: error log: %s\n", err);
        goto done;
    }
    signal(SIGPIPE, SIG_IGN);
    m.slots = calloc((size_t)m.nslots, sizeof(*m.slots));
    m.base = event_base_new();
    if (m.slots == NULL || m.base == NULL) {
        herd_log_error("out of memory starting the master");
        goto done;
    }
    if (open_listeners(&m) != HERD_OK)
        goto done;
    for (i = 0; i < HERD_ARRAY_LEN(handled_signals); i++) {
        m.sigs[i] = evsignal_new(m.base, handled_signals[i], on_signal, &m);
        if (m.sigs[i] == NULL || event_add(m.sigs[i], NULL) != 0)
            goto done;
    }
    m.kill_timer = evtimer_new(m.base, on_kill_timer, &m);
    if (m.kill_timer == NULL)
        goto done;
    herd_log_info("herd " PACKAGE_VERSION " starting %d worker(s)", m.nslots);
    fflush(NULL);
    for (s = 0; s < m.nslots; s++) {
        m.slots[s].m = &m;
        m.slots[s].index = s;
        m.slots[s].respawn = evtimer_new(m.base, on_respawn, &m.slots[s]);
        if (m.slots[s].respawn == NULL || spawn(&m, s) != HERD_OK)
            goto stop;
    }
    event_base_dispatch(m.base);
    status = m.stopping ? 0 : 1;
    herd_log_info("stopped");
    goto done;
stop:
    signal_workers(&m, SIGINT);
    while (live_workers(&m) > 0 && waitpid(-1, NULL, 0) > 0)
        reap(&m);
done:
    master_free(&m);
    herd_log_close();
    return status;
}
