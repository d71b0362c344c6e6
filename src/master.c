/* master.c: binds listeners, forks a worker per slot, supervises, reloads. */

/*
 * The master never serves HTTP. It owns:
 *  - the listeners: one SO_REUSEPORT socket per (address, slot), kept for
 *    as long as the slot exists, so a replaced worker inherits its queue;
 *  - the processes: every worker with its slot, generation, channel and
 *    latest health;
 *  - the scoreboard, a shared read-only copy of that for the workers.
 *
 * Signal handlers only set flags (libevent's evsignal turns a signal into
 * a callback in the loop), and the loop acts on them in one place.
 *
 * A reload is a transaction: the new file is parsed and every new address
 * bound first; then a whole new generation is forked on the same sockets,
 * and only when every one of its workers has reported READY is the old
 * generation told to STOP (drain). A new worker that fails, or a READY
 * that does not come within worker.timeout, aborts the reload and leaves
 * the old generation serving as if nothing had happened.
 */
#include "master.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "access.h"
#include "channel.h"
#include "listener.h"
#include "log.h"
#include "reqid.h"
#include "notify.h"
#include "relay.h"
#include "scoreboard.h"
#include "worker.h"
#include "util.h"

/* A worker that dies younger than this is "dying young": back off. */
#define YOUNG_MS       5000
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 30000
/* Draining workers are killed this long after worker.shutdown_timeout
   (they enforce the timeout themselves; this is for hung ones). */
#define STRAGGLER_GRACE_MS 2000
/* fork() failing (EAGAIN, ENOMEM) is retried after this long. */
#define FORK_RETRY_MS 1000

struct proc {
    struct proc *next;
    struct herd_master *m;
    pid_t pid;
    int slot;
    uint32_t generation;
    int chan; /* the master's end */
    struct event *chan_ev;
    enum herd_slot_state state; /* STARTING, READY or DRAINING */
    uint64_t started_ms;
    uint64_t last_report_ms;
    uint64_t stop_ms; /* when STOP was sent */
    struct herd_health health;
    int killed;                  /* the master sent SIGKILL */
    struct proc *replacement;    /* max_requests: who takes over */
    uint64_t (*routes)[6];       /* its last ROUTES counts by metrics id */
    struct herd_relay_peer peer; /* pub/sub: what it listens on */
};

/* A listen address, with one socket per slot, shared by generations. */
struct mlistener {
    struct herd_listener l;
    int used;    /* by the current configuration */
    int pending; /* by the configuration being loaded */
};

struct slot_state {
    struct herd_master *m;
    int index;
    uint32_t restarts;
    int32_t last_exit;
    uint64_t backoff_ms;
    int fatal;      /* exited with HERD_EXIT_FATAL: wait for a reload */
    char route[64]; /* the module route a crash interrupted, or "" */
    struct event *respawn;
};

struct herd_master {
    struct herd_config *cfg; /* the current generation's */
    const char *path;        /* what SIGHUP re-reads */
    struct event_base *base;
    struct herd_scoreboard *sb;
    struct herd_activity *activity; /* what each worker runs: crash reports */
    struct herd_relay *relay;       /* pub/sub between the workers */
    int ready_notified;             /* told systemd the first workers serve */
    uint64_t started_ms;
    uint64_t reqid_nonce;       /* drawn once: request ids of every worker */
    struct herd_totals retired; /* counters of workers that have exited */
    /* /metrics by route: the patterns of every configuration loaded (a
       metrics id is an index here) and exited workers' counts. */
    char *route_names[HERD_MAX_ROUTE_METRICS];
    uint32_t nroute_names;
    int routes_capped; /* said once that more routes share no series */
    uint64_t route_retired[HERD_MAX_ROUTE_METRICS][6];

    struct mlistener *ls;
    size_t nls;

    struct proc *procs;
    struct slot_state slots[HERD_MAX_SLOTS];
    int nslots;
    uint32_t generation;
    uint64_t reloads;

    /* A reload in progress. */
    struct herd_config *pending;
    uint32_t pending_gen;
    int reload_queued; /* SIGHUP during a reload: one more afterwards */
    struct event *reload_timer;

    int stopping; /* 0, or the signal that asked for the stop */
    int pid_fd;
    pid_t pid;
    struct event *sigs[9];
    struct event *tick;
};

static const int handled_signals[] = {SIGTERM, SIGINT,  SIGQUIT,
                                      SIGCHLD, SIGHUP,  SIGUSR1,
                                      SIGTTIN, SIGTTOU, SIGPIPE};

/* ---- scoreboard ---- */

/* The process that speaks for slot s: the current generation's worker,
   READY before STARTING, never a draining one. */
static struct proc *
slot_proc(const struct herd_master *m, int s)
{
    struct proc *p, *best = NULL;

    for (p = m->procs; p != NULL; p = p->next) {
        if (p->slot != s || p->state == HERD_SLOT_DRAINING ||
            p->generation != m->generation)
            continue;
        if (best == NULL ||
            (p->state == HERD_SLOT_READY && best->state != HERD_SLOT_READY))
            best = p;
    }
    return best;
}

static void
publish_slot(struct herd_master *m, int s)
{
    struct herd_score sc;
    struct proc *p = slot_proc(m, s);

    if (m->sb == NULL || s < 0 || s >= HERD_MAX_SLOTS)
        return;
    memset(&sc, 0, sizeof(sc));
    sc.restarts = m->slots[s].restarts;
    sc.last_exit = m->slots[s].last_exit;
    memcpy(sc.route, m->slots[s].route, sizeof(sc.route));
    if (p != NULL && s < m->nslots) {
        sc.health = p->health;
        sc.health.pid = (uint32_t)p->pid;
        sc.health.slot = (uint32_t)s;
        sc.health.generation = p->generation;
        sc.state = p->state;
        sc.last_heartbeat_ms = p->last_report_ms;
        sc.started_ms = p->started_ms;
    }
    herd_scoreboard_write(m->sb, (size_t)s, &sc);
}

static void
publish_server(struct herd_master *m)
{
    struct herd_server_score ss;
    struct proc *p;
    size_t i;

    if (m->sb == NULL)
        return;
    memset(&ss, 0, sizeof(ss));
    ss.master_pid = (uint32_t)m->pid;
    ss.generation = m->generation;
    ss.nslots = (uint32_t)m->nslots;
    ss.reloads = m->reloads;
    ss.started_ms = m->started_ms;
    for (i = 0; i < HERD_MAX_SLOTS; i++)
        ss.restarts += m->slots[i].restarts;
    ss.nroutes = m->nroute_names;
    {
        struct herd_relay_stats rs;

        herd_relay_stats(m->relay, &rs);
        ss.pubsub_channels = rs.channels;
        ss.pubsub_published = rs.published;
        ss.pubsub_overflows = rs.overflows;
        ss.pubsub_redis_errors = rs.redis_errors;
        ss.pubsub_redis_up = rs.redis_up;
    }
    ss.totals = m->retired;
    for (p = m->procs; p != NULL; p = p->next)
        herd_totals_add(&ss.totals, &p->health);
    herd_scoreboard_write_server(m->sb, &ss);
}

/* Publish route metrics id's counts: exited workers' plus live ones'. */
static void
publish_route(struct herd_master *m, uint32_t id)
{
    struct herd_route_score r;
    struct proc *p;
    size_t i;

    if (m->sb == NULL || id >= m->nroute_names)
        return;
    memset(&r, 0, sizeof(r));
    snprintf(r.route, sizeof(r.route), "%s", m->route_names[id]);
    for (i = 0; i < 6; i++)
        r.status[i] = m->route_retired[id][i];
    for (p = m->procs; p != NULL; p = p->next)
        for (i = 0; p->routes != NULL && i < 6; i++)
            r.status[i] += p->routes[id][i];
    herd_scoreboard_write_route(m->sb, id, &r);
}

/*
 * Give each route of cfg its metrics id: the index of its pattern among
 * those of every configuration loaded, so that a route keeps its series
 * across reloads (and routes with the same pattern share one). Workers
 * forked for cfg count by these ids.
 */
static void
assign_route_ids(struct herd_master *m, struct herd_config *cfg)
{
    size_t i;
    uint32_t id;

    for (i = 0; i < cfg->nroutes; i++) {
        struct herd_route_conf *rc = &cfg->routes[i];

        rc->metrics_id = -1;
        for (id = 0; id < m->nroute_names; id++)
            if (strcmp(m->route_names[id], rc->path) == 0)
                break;
        if (id == m->nroute_names) {
            if (id == HERD_MAX_ROUTE_METRICS ||
                (m->route_names[id] = strdup(rc->path)) == NULL) {
                if (!m->routes_capped)
                    herd_log_warn("metrics: more than %d route patterns: "
                                  "%s and later ones have no series of "
                                  "their own",
                                  HERD_MAX_ROUTE_METRICS, rc->path);
                m->routes_capped = 1;
                continue;
            }
            m->nroute_names++;
            publish_route(m, id);
        }
        rc->metrics_id = (int)id;
    }
    publish_server(m);
}

/* ---- listeners ---- */

static struct mlistener *
find_listener(struct herd_master *m, const struct herd_listen *conf)
{
    char key[sizeof(((struct herd_listener *)0)->key)];
    size_t i;

    herd_listener_key(conf, key, sizeof(key));
    for (i = 0; i < m->nls; i++)
        if (strcmp(m->ls[i].l.key, key) == 0)
            return &m->ls[i];
    return NULL;
}

/*
 * Make sure every address of cfg is bound with nslots sockets, marking
 * them pending (or used, when first is set). New ones are logged. On
 * failure the error is logged and HERD_ERR returned; the caller undoes
 * with unbind_pending.
 */
static int
bind_listeners(struct herd_master *m, const struct herd_config *cfg, int nslots,
               int first)
{
    char err[HERD_ERR_LEN];
    struct mlistener *ml, *grown;
    size_t i;

    for (i = 0; i < cfg->nlisten; i++) {
        ml = find_listener(m, &cfg->listen[i]);
        if (ml == NULL) {
            grown = realloc(m->ls, sizeof(*m->ls) * (m->nls + 1));
            if (grown == NULL) {
                herd_log_error("out of memory binding %s",
                               cfg->listen[i].address);
                return HERD_ERR;
            }
            m->ls = grown;
            ml = &m->ls[m->nls];
            memset(ml, 0, sizeof(*ml));
            if (herd_listener_open(&ml->l, &cfg->listen[i], nslots, err,
                                   sizeof(err)) != HERD_OK) {
                herd_log_error("%s", err);
                return HERD_ERR;
            }
            m->nls++;
            herd_log_info("listening on %s", ml->l.name);
        } else if (ml->l.nfds < nslots &&
                   herd_listener_resize(&ml->l, nslots, err, sizeof(err)) !=
                       HERD_OK) {
            herd_log_error("%s", err);
            return HERD_ERR;
        }
        if (first)
            ml->used = 1;
        else
            ml->pending = 1;
    }
    return HERD_OK;
}

/* Close what no live process and no configuration needs any more: the
   sockets of slots past nslots and addresses no longer listened on. A
   draining worker still holds its own copies until it has accepted what
   was queued. */
static void
trim_listeners(struct herd_master *m)
{
    char err[HERD_ERR_LEN];
    size_t i, j;

    for (i = 0; i < m->nls;) {
        struct mlistener *ml = &m->ls[i];
        if (!ml->used && !ml->pending) {
            herd_log_info("no longer listening on %s", ml->l.name);
            herd_listener_close(&ml->l, 1);
            for (j = i + 1; j < m->nls; j++)
                m->ls[j - 1] = m->ls[j];
            m->nls--;
            continue;
        }
        if (m->pending == NULL && ml->l.nfds > m->nslots)
            herd_listener_resize(&ml->l, m->nslots, err, sizeof(err));
        i++;
    }
}

/* ---- processes ---- */

static void on_chan(evutil_socket_t fd, short what, void *arg);

static void
drop_privileges(const struct herd_config *cfg)
{
    struct passwd *pw;
    struct group *gr;
    gid_t gid;

    if (cfg->user == NULL)
        return;
    pw = getpwnam(cfg->user);
    if (pw == NULL) {
        herd_log_error("user \"%s\" not found", cfg->user);
        exit(HERD_EXIT_FATAL);
    }
    gid = pw->pw_gid;
    if (cfg->group != NULL) {
        gr = getgrnam(cfg->group);
        if (gr == NULL) {
            herd_log_error("group \"%s\" not found", cfg->group);
            exit(HERD_EXIT_FATAL);
        }
        gid = gr->gr_gid;
    }
    if (getuid() == pw->pw_uid && geteuid() == pw->pw_uid && getgid() == gid)
        return;
    if (setgid(gid) < 0 || initgroups(pw->pw_name, gid) < 0 ||
        setuid(pw->pw_uid) < 0) {
        herd_log_error("cannot run as user \"%s\" (%d: %s)", cfg->user, errno,
                       strerror(errno));
        exit(HERD_EXIT_FATAL);
    }
    /* Never serve as root by accident: check it took. */
    if (pw->pw_uid != 0 && (setuid(0) == 0 || geteuid() == 0)) {
        herd_log_error("still root after switching to \"%s\"", cfg->user);
        exit(HERD_EXIT_FATAL);
    }
}

/* In a new child: become the worker p, never to return. */
static void
become_worker(struct herd_master *m, struct proc *self,
              const struct herd_config *cfg, int chan, uint64_t max_requests)
{
    struct herd_listener *mine;
    struct herd_worker_args args;
    struct proc *p;
    sigset_t none;
    size_t i, n = 0;
    int keep, status;

    /* Never outlive the master: a backstop for when it dies unannounced
       (the channel's EOF is the usual way a worker learns of it). */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != m->pid)
        _exit(0);
    /* The master's event loop is not ours: re-create its backend so that
       freeing it touches none of the master's kernel state (its epoll set
       is shared with the master until then). */
    event_reinit(m->base);
    for (i = 0; i < (size_t)m->nslots; i++)
        if (m->slots[i].respawn)
            event_free(m->slots[i].respawn);
    /* The relay is the master's: its copy here closes its Redis sockets
       and frees its channels (while the base its links use exists). */
    herd_relay_free(m->relay);
    m->relay = NULL;
    event_base_free(m->base);
    m->base = NULL;
    for (p = m->procs; p != NULL; p = p->next)
        if (p->chan >= 0 && p != self)
            close(p->chan); /* or the sibling never sees its EOF */
    close(self->chan);
    if (m->pid_fd >= 0)
        close(m->pid_fd);
    mine = calloc(m->nls ? m->nls : 1, sizeof(*mine));
    if (mine == NULL)
        _exit(HERD_EXIT_FATAL);
    for (i = 0; i < m->nls; i++) {
        struct mlistener *ml = &m->ls[i];
        keep = cfg == m->pending ? ml->pending : ml->used;
        herd_listener_close_except(&ml->l, keep ? self->slot : -1);
        if (keep)
            mine[n++] = ml->l;
    }
    drop_privileges(cfg);
    if (m->sb != NULL)
        herd_scoreboard_protect(m->sb);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);

    memset(&args, 0, sizeof(args));
    args.cfg = cfg;
    args.listeners = mine;
    args.nlisteners = n;
    args.slot = self->slot;
    args.generation = self->generation;
    args.chan = chan;
    args.max_requests = max_requests;
    args.scoreboard = m->sb;
    args.activity = m->activity;
    args.reqid_nonce = m->reqid_nonce;
    status = herd_worker_run(&args);
    free(mine);
    exit(status);
}

static uint64_t
pick_max_requests(const struct herd_config *cfg)
{
    uint64_t n = cfg->worker.max_requests;

    if (n == 0)
        return 0;
    if (cfg->worker.max_requests_jitter > 0)
        n += (uint64_t)random() % (cfg->worker.max_requests_jitter + 1);
    return n;
}

/* Fork a worker for slot s running cfg as generation gen. */
static struct proc *
spawn(struct herd_master *m, const struct herd_config *cfg, uint32_t gen, int s)
{
    char err[HERD_ERR_LEN];
    struct proc *p;
    sigset_t all, old;
    int fds[2] = {-1, -1};
    uint64_t max_requests = pick_max_requests(cfg);
    pid_t pid;

    p = calloc(1, sizeof(*p));
    if (p == NULL || herd_channel_pair(fds, err, sizeof(err)) != HERD_OK) {
        herd_log_error("cannot start a worker for slot %d: %s", s,
                       p == NULL ? "out of memory" : err);
        free(p);
        return NULL;
    }
    p->m = m;
    p->slot = s;
    p->generation = gen;
    p->chan = fds[0];
    p->state = HERD_SLOT_STARTING;
    /* Block signals across fork so the child cannot run the master's
       handlers before it has reset them. */
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old);
    pid = fork();
    if (pid == 0)
        become_worker(m, p, cfg, fds[1], max_requests);
    sigprocmask(SIG_SETMASK, &old, NULL);
    close(fds[1]);
    if (pid < 0) {
        herd_log_error("fork() failed for slot %d (%d: %s)", s, errno,
                       strerror(errno));
        close(fds[0]);
        free(p);
        return NULL;
    }
    p->pid = pid;
    p->started_ms = p->last_report_ms = herd_mono_ms();
    if (herd_relay_attach(m->relay, &p->peer, p->chan) != HERD_OK)
        herd_log_error("worker %d (pid %d): cannot attach it to pub/sub", s,
                       (int)pid);
    p->chan_ev = event_new(m->base, p->chan, EV_READ | EV_PERSIST, on_chan, p);
    if (p->chan_ev != NULL)
        event_add(p->chan_ev, NULL);
    p->next = m->procs;
    m->procs = p;
    herd_log_info("started worker %d (pid %d, generation %u)", s, (int)pid,
                  (unsigned)gen);
    return p;
}

static void
send_stop(struct proc *p)
{
    if (p->state == HERD_SLOT_DRAINING)
        return;
    p->state = HERD_SLOT_DRAINING;
    p->stop_ms = herd_mono_ms();
    /* A full channel means the worker is not reading: the straggler
       timer kills it after shutdown_timeout. SIGTERM says the same. */
    if (herd_channel_send(p->chan, HERD_MSG_STOP, NULL, 0) != HERD_OK)
        kill(p->pid, SIGTERM);
}

static int
live_procs(const struct herd_master *m)
{
    const struct proc *p;
    int n = 0;

    for (p = m->procs; p != NULL; p = p->next)
        n++;
    return n;
}

/* Free p; its last report's counters go to the totals of exited workers,
   so that the server's counters never go backwards. */
static void
proc_free(struct proc *p)
{
    size_t id, i;

    if (p->m != NULL)
        herd_totals_add(&p->m->retired, &p->health);
    for (id = 0;
         p->m != NULL && p->routes != NULL && id < HERD_MAX_ROUTE_METRICS; id++)
        for (i = 0; i < 6; i++)
            p->m->route_retired[id][i] += p->routes[id][i];
    free(p->routes);
    herd_relay_detach(&p->peer);
    if (p->chan_ev != NULL)
        event_free(p->chan_ev);
    if (p->chan >= 0)
        close(p->chan);
    free(p);
}

/* ---- respawning ---- */

static void on_respawn(evutil_socket_t fd, short what, void *arg);

/* Every slot below nslots must have a worker of the current generation:
   start one where it is missing (after the slot's back-off). */
static void
ensure_slots(struct herd_master *m)
{
    struct slot_state *ss;
    struct timeval tv;
    int s;

    if (m->stopping)
        return;
    for (s = 0; s < m->nslots; s++) {
        ss = &m->slots[s];
        if (ss->fatal || slot_proc(m, s) != NULL ||
            (ss->respawn != NULL && evtimer_pending(ss->respawn, NULL)))
            continue;
        if (ss->respawn == NULL) {
            ss->m = m;
            ss->index = s;
            ss->respawn = evtimer_new(m->base, on_respawn, ss);
        }
        if (ss->respawn == NULL)
            continue;
        tv = herd_ms_tv(ss->backoff_ms);
        if (ss->backoff_ms > 0)
            herd_log_warn("slot %d: respawning in %llu ms", s,
                          (unsigned long long)ss->backoff_ms);
        evtimer_add(ss->respawn, &tv);
    }
}

static void
on_respawn(evutil_socket_t fd, short what, void *arg)
{
    struct slot_state *ss = arg;
    struct herd_master *m = ss->m;
    struct timeval tv = herd_ms_tv(FORK_RETRY_MS);

    (void)fd;
    (void)what;
    if (m->stopping || ss->fatal || ss->index >= m->nslots ||
        slot_proc(m, ss->index) != NULL)
        return;
    if (spawn(m, m->cfg, m->generation, ss->index) == NULL) {
        evtimer_add(ss->respawn, &tv); /* fork failed: try again later */
        return;
    }
    ss->restarts++;
    publish_slot(m, ss->index);
}

/* ---- reload ---- */

static void
unbind_pending(struct herd_master *m)
{
    size_t i;

    for (i = 0; i < m->nls; i++)
        m->ls[i].pending = 0;
    trim_listeners(m);
}

static void start_reload(struct herd_master *m);
static int check_user(const struct herd_config *cfg);

/* How many older generations are still draining. */
static int
draining_generations(const struct herd_master *m)
{
    uint32_t seen[4];
    const struct proc *p;
    int n = 0, i;

    for (p = m->procs; p != NULL; p = p->next) {
        if (p->state != HERD_SLOT_DRAINING || p->generation == m->generation)
            continue;
        for (i = 0; i < n && seen[i] != p->generation; i++)
            ;
        if (i == n && n < (int)HERD_ARRAY_LEN(seen))
            seen[n++] = p->generation;
    }
    return n;
}

static void
abort_reload(struct herd_master *m, const char *why)
{
    struct proc *p;

    herd_log_error("reload failed: %s; generation %u keeps serving", why,
                   (unsigned)m->generation);
    for (p = m->procs; p != NULL; p = p->next)
        if (p->generation == m->pending_gen) {
            p->killed = 1;
            kill(p->pid, SIGKILL);
        }
    evtimer_del(m->reload_timer);
    herd_config_free(m->pending);
    m->pending = NULL;
    unbind_pending(m);
    ensure_slots(m);
    herd_notify_ready((unsigned)m->generation, m->nslots);
    if (m->reload_queued) {
        m->reload_queued = 0;
        start_reload(m);
    }
}

static void
commit_reload(struct herd_master *m)
{
    struct herd_config *old = m->cfg;
    struct proc *p;
    size_t i;
    int s, was = m->nslots;

    evtimer_del(m->reload_timer);
    m->cfg = m->pending;
    m->pending = NULL;
    m->generation = m->pending_gen;
    m->nslots = m->cfg->workers;
    m->reloads++;
    for (i = 0; i < m->nls; i++) {
        m->ls[i].used = m->ls[i].pending;
        m->ls[i].pending = 0;
    }
    herd_config_free(old);
    for (s = 0; s < HERD_MAX_SLOTS; s++) {
        m->slots[s].fatal = 0;
        m->slots[s].backoff_ms = 0;
    }
    for (p = m->procs; p != NULL; p = p->next)
        if (p->generation != m->generation)
            send_stop(p);
    trim_listeners(m);
    herd_log_info("reloaded: generation %u serving with %d worker(s)",
                  (unsigned)m->generation, m->nslots);
    m->ready_notified = 1;
    herd_notify_ready((unsigned)m->generation, m->nslots);
    publish_server(m);
    for (s = 0; s < (was > m->nslots ? was : m->nslots); s++)
        publish_slot(m, s);
    if (m->reload_queued) {
        m->reload_queued = 0;
        start_reload(m);
    }
}

static void
on_reload_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    abort_reload(arg, "new workers did not report ready in worker.timeout");
}

/* The access log file, created by the master and given to user, so that
   workers running as user can open it (and open it again on SIGUSR1). */
static void
prepare_access_log(const struct herd_config *cfg)
{
    struct passwd *pw = NULL;
    char err[HERD_ERR_LEN];

    if (cfg->user != NULL && geteuid() == 0)
        pw = getpwnam(cfg->user);
    if (herd_access_prepare(cfg->log.access, pw ? pw->pw_uid : (uid_t)-1, err,
                            sizeof(err)) != HERD_OK)
        herd_log_warn("access log: %s", err);
}

static void
start_reload(struct herd_master *m)
{
    char err[HERD_CONFIG_ERR_LEN];
    struct herd_config *cfg = NULL;
    struct timeval tv;
    int s;

    if (m->stopping)
        return;
    /* A burst of HUPs makes one more reload after the one in progress;
       and while two older generations are still draining (idle keep-alive
       clients, long requests), the next waits for one of them to finish,
       so the number of processes stays bounded. */
    if (m->pending != NULL || draining_generations(m) > 1) {
        m->reload_queued = 1;
        return;
    }
    herd_log_info("reloading %s", m->path);
    herd_notify_reloading();
    if (herd_config_load(m->path, &cfg, err, sizeof(err)) != HERD_OK) {
        herd_log_error("reload failed: %s; generation %u keeps serving", err,
                       (unsigned)m->generation);
        herd_notify_ready((unsigned)m->generation, m->nslots);
        return;
    }
    if (check_user(cfg) != HERD_OK) {
        herd_log_error("reload failed; generation %u keeps serving",
                       (unsigned)m->generation);
        herd_config_free(cfg);
        herd_notify_ready((unsigned)m->generation, m->nslots);
        return;
    }
    m->pending = cfg;
    m->pending_gen = m->generation + 1;
    assign_route_ids(m, cfg);
    prepare_access_log(cfg);
    if (bind_listeners(m, cfg, cfg->workers, 0) != HERD_OK) {
        herd_config_free(cfg);
        m->pending = NULL;
        unbind_pending(m);
        herd_log_error("reload failed; generation %u keeps serving",
                       (unsigned)m->generation);
        herd_notify_ready((unsigned)m->generation, m->nslots);
        return;
    }
    for (s = 0; s < cfg->workers; s++) {
        if (spawn(m, cfg, m->pending_gen, s) == NULL) {
            abort_reload(m, "could not start the new workers");
            return;
        }
    }
    tv = herd_ms_tv(cfg->worker.timeout_ms);
    evtimer_add(m->reload_timer, &tv);
}

static void
check_reload_ready(struct herd_master *m)
{
    struct proc *p;
    int ready = 0;

    if (m->pending == NULL)
        return;
    /* Workers herd killed (those of an abandoned reload, not yet reaped,
       share the pending generation's number) are not waited for. */
    for (p = m->procs; p != NULL; p = p->next)
        if (p->generation == m->pending_gen && !p->killed) {
            if (p->state != HERD_SLOT_READY)
                return;
            ready++;
        }
    if (ready == m->pending->workers)
        commit_reload(m);
}

/* Once every slot of the first generation serves: tell systemd. */
static void
check_first_ready(struct herd_master *m)
{
    struct proc *p;
    int ready = 0;

    if (m->ready_notified || m->pending != NULL)
        return;
    for (p = m->procs; p != NULL; p = p->next)
        if (p->generation == m->generation && p->state == HERD_SLOT_READY)
            ready++;
    if (ready < m->nslots)
        return;
    m->ready_notified = 1;
    herd_notify_ready((unsigned)m->generation, m->nslots);
}

/* ---- channel ---- */

/* A worker's requests by route, counted since it started. */
static void
on_routes(struct proc *p, const struct herd_msg *msg)
{
    static struct herd_route_count c[HERD_MAX_ROUTE_METRICS];
    size_t i, j, n;

    if (herd_route_counts_decode(msg->payload, msg->len, c, HERD_ARRAY_LEN(c),
                                 &n) != HERD_OK) {
        herd_log_warn("worker %d (pid %d): malformed route counts", p->slot,
                      (int)p->pid);
        return;
    }
    if (p->routes == NULL) {
        p->routes = calloc(HERD_MAX_ROUTE_METRICS, sizeof(*p->routes));
        if (p->routes == NULL)
            return;
    }
    for (i = 0; i < n; i++) {
        for (j = 0; j < 6; j++)
            p->routes[c[i].id][j] = c[i].status[j];
        publish_route(p->m, c[i].id);
    }
}

static void
on_chan(evutil_socket_t fd, short what, void *arg)
{
    struct proc *p = arg, *r;
    struct herd_master *m = p->m;
    static char buf[HERD_CHANNEL_MAX_FRAME];
    char err[HERD_ERR_LEN];
    struct herd_msg msg;
    struct herd_health h;
    int rc;

    (void)what;
    while ((rc = herd_channel_recv(fd, buf, sizeof(buf), &msg, err,
                                   sizeof(err))) == HERD_OK) {
        if (msg.type == HERD_MSG_ROUTES) {
            on_routes(p, &msg);
            continue;
        }
        if (msg.type == HERD_MSG_PUBLISH) {
            herd_relay_input(&p->peer, msg.payload, msg.len);
            continue;
        }
        if (msg.type != HERD_MSG_READY && msg.type != HERD_MSG_HEALTH &&
            msg.type != HERD_MSG_RETIRE) {
            herd_log_warn("worker %d (pid %d): unexpected message type %u",
                          p->slot, (int)p->pid, (unsigned)msg.type);
            continue;
        }
        if (herd_health_decode(msg.payload, msg.len, &h) != HERD_OK) {
            herd_log_warn("worker %d (pid %d): malformed health report",
                          p->slot, (int)p->pid);
            continue;
        }
        p->health = h;
        p->last_report_ms = herd_mono_ms();
        if (msg.type == HERD_MSG_READY && p->state == HERD_SLOT_STARTING) {
            p->state = HERD_SLOT_READY;
            m->slots[p->slot].fatal = 0;
            /* A replacement is up: its predecessor may go now. */
            for (r = m->procs; r != NULL; r = r->next)
                if (r->replacement == p)
                    send_stop(r);
            check_reload_ready(m);
            check_first_ready(m);
        }
        if (msg.type == HERD_MSG_RETIRE && p->replacement == NULL &&
            p->state == HERD_SLOT_READY && !m->stopping &&
            p->generation == m->generation && m->pending == NULL) {
            r = spawn(m, m->cfg, m->generation, p->slot);
            if (r != NULL) {
                herd_log_info("worker %d (pid %d) served %llu requests: "
                              "replacing it",
                              p->slot, (int)p->pid,
                              (unsigned long long)h.requests);
                p->replacement = r;
            }
        }
        publish_slot(m, p->slot);
        publish_server(m);
    }
    if (rc == HERD_ERR) {
        /* The worker closed its end (it is exiting): reap tells why. */
        herd_relay_detach(&p->peer);
        event_free(p->chan_ev);
        p->chan_ev = NULL;
        close(p->chan);
        p->chan = -1;
    }
}

/* ---- reaping ---- */

/* Log why p ended; *running gets the module route it was running. */
static void
log_exit(const struct herd_master *m, const struct proc *p, int status,
         char *running, size_t runlen)
{
    int expected = m->stopping || p->state == HERD_SLOT_DRAINING;
    enum herd_log_level lvl = expected ? HERD_LOG_INFO : HERD_LOG_ERROR;
    char what[HERD_ACTIVITY_LEN + 32];

    herd_activity_get(m->activity, (size_t)p->slot, (uint32_t)p->pid, running,
                      runlen);
    what[0] = '\0';
    if (running[0] != '\0')
        snprintf(what, sizeof(what), " while running route %s", running);
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        herd_log(lvl, "worker %d (pid %d) killed by signal %d (%s)%s%s",
                 p->slot, (int)p->pid, sig, strsignal(sig), what,
                 sig == SIGKILL && !p->killed
                     ? "; not sent by herd: possibly killed for memory "
                       "(OOM killer)"
                     : "");
    } else {
        int code = WEXITSTATUS(status);
        herd_log(code == 0 ? lvl : HERD_LOG_ERROR,
                 "worker %d (pid %d) exited with status %d%s%s", p->slot,
                 (int)p->pid, code, what,
                 code == HERD_EXIT_FATAL
                     ? " (cannot run its configuration: not respawned "
                       "until a reload)"
                     : "");
    }
}

static void
reap(struct herd_master *m)
{
    struct proc **pp, *p, *q;
    struct slot_state *ss;
    pid_t pid;
    int status, crashed, s, top = m->nslots;
    uint64_t now = herd_mono_ms();
    char running[HERD_ACTIVITY_LEN];

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (pp = &m->procs; *pp != NULL && (*pp)->pid != pid;
             pp = &(*pp)->next)
            ;
        if (*pp == NULL)
            continue;
        p = *pp;
        *pp = p->next;
        log_exit(m, p, status, running, sizeof(running));
        for (q = m->procs; q != NULL; q = q->next)
            if (q->replacement == p)
                q->replacement = NULL; /* it may ask again */
        crashed = !m->stopping && p->state != HERD_SLOT_DRAINING;
        /* Workers of an abandoned reload, killed by herd but reaped only
           now, have the number the next pending generation reuses: their
           end says nothing about it. */
        if (crashed && m->pending != NULL && p->generation == m->pending_gen &&
            !p->killed) {
            proc_free(p);
            abort_reload(m, "a new worker exited before it was ready");
            continue;
        }
        if (crashed && p->generation == m->generation && p->slot < m->nslots) {
            ss = &m->slots[p->slot];
            ss->last_exit =
                WIFSIGNALED(status) ? -WTERMSIG(status) : WEXITSTATUS(status);
            snprintf(ss->route, sizeof(ss->route), "%.*s",
                     (int)sizeof(ss->route) - 1, running);
            if (WIFEXITED(status) && WEXITSTATUS(status) == HERD_EXIT_FATAL)
                ss->fatal = 1;
            if (now - p->started_ms < YOUNG_MS)
                ss->backoff_ms = ss->backoff_ms == 0 ? BACKOFF_MIN_MS
                                 : ss->backoff_ms * 2 > BACKOFF_MAX_MS
                                     ? BACKOFF_MAX_MS
                                     : ss->backoff_ms * 2;
            else
                ss->backoff_ms = 0;
        }
        if (p->slot >= top)
            top = p->slot + 1;
        proc_free(p);
    }
    publish_server(m);
    if (m->stopping) {
        if (m->procs == NULL)
            event_base_loopbreak(m->base);
        return;
    }
    trim_listeners(m);
    ensure_slots(m);
    if (m->reload_queued && m->pending == NULL &&
        draining_generations(m) <= 1) {
        m->reload_queued = 0;
        start_reload(m);
    }
    for (s = 0; s < top && s < HERD_MAX_SLOTS; s++)
        publish_slot(m, s);
}

/* ---- supervision ---- */

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct herd_master *m = arg;
    const struct herd_config *cfg;
    uint64_t now, silent;
    struct proc *p;

    (void)fd;
    (void)what;
    /* Read what the workers sent before judging them: after the master
       itself was stopped (SIGSTOP, a loaded host), the loop may run this
       timer before the channels, and every worker would look hung. New
       processes (a RETIRE spawns one) go to the list head: skipped. */
    for (p = m->procs; p != NULL; p = p->next)
        if (p->chan >= 0)
            on_chan(p->chan, EV_READ, p);
    /* Only now: a READY read above may have committed a reload and freed
       the configuration that was current before. */
    cfg = m->cfg;
    now = herd_mono_ms();
    for (p = m->procs; p != NULL; p = p->next) {
        if (p->killed)
            continue;
        if (p->state == HERD_SLOT_DRAINING) {
            if (now - p->stop_ms >
                cfg->worker.shutdown_timeout_ms + STRAGGLER_GRACE_MS) {
                herd_log_warn("worker %d (pid %d) still draining after "
                              "%llu ms: killing it",
                              p->slot, (int)p->pid,
                              (unsigned long long)(now - p->stop_ms));
                p->killed = 1;
                kill(p->pid, SIGKILL);
            }
            continue;
        }
        silent = now - p->last_report_ms;
        if (silent > cfg->worker.timeout_ms) {
            herd_log_error("worker %d (pid %d) silent for %llu ms "
                           "(worker.timeout %llu ms): hung, killing it",
                           p->slot, (int)p->pid, (unsigned long long)silent,
                           (unsigned long long)cfg->worker.timeout_ms);
            p->killed = 1;
            kill(p->pid, SIGKILL);
        }
    }
}

/* ---- signals ---- */

/* A log file the master (re)created must be one the workers, running as
   user, can open again on the next SIGUSR1. */
static void
log_file_to_user(const struct herd_config *cfg)
{
    const char *path = herd_log_path();
    struct passwd *pw;

    if (path == NULL || cfg->user == NULL || geteuid() != 0)
        return;
    pw = getpwnam(cfg->user);
    if (pw != NULL && chown(path, pw->pw_uid, (gid_t)-1) < 0)
        herd_log_warn("chown(\"%s\") failed (%d: %s)", path, errno,
                      strerror(errno));
}

static void
signal_workers(struct herd_master *m, int sig)
{
    struct proc *p;

    for (p = m->procs; p != NULL; p = p->next)
        kill(p->pid, sig);
}

static void
change_workers(struct herd_master *m, int delta)
{
    struct proc *p;
    int s;

    if (m->pending != NULL) {
        herd_log_warn("a reload is in progress: worker count unchanged");
        return;
    }
    if (delta > 0) {
        if (m->nslots >= HERD_MAX_SLOTS) {
            herd_log_warn("already %d workers: the most herd runs", m->nslots);
            return;
        }
        if (bind_listeners(m, m->cfg, m->nslots + 1, 1) != HERD_OK)
            return;
        m->nslots++;
        m->cfg->workers = m->nslots;
        m->slots[m->nslots - 1].fatal = 0;
        m->slots[m->nslots - 1].backoff_ms = 0;
        herd_log_info("SIGTTIN: %d worker(s)", m->nslots);
        ensure_slots(m);
    } else {
        if (m->nslots <= 1) {
            herd_log_warn("SIGTTOU: keeping the last worker");
            return;
        }
        m->nslots--;
        m->cfg->workers = m->nslots;
        s = m->nslots;
        herd_log_info("SIGTTOU: %d worker(s)", m->nslots);
        for (p = m->procs; p != NULL; p = p->next)
            if (p->slot == s)
                send_stop(p);
        if (m->slots[s].respawn != NULL)
            evtimer_del(m->slots[s].respawn);
        trim_listeners(m);
        publish_slot(m, s);
    }
    publish_server(m);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct herd_master *m = arg;
    char err[HERD_ERR_LEN];
    struct proc *p;

    (void)what;
    switch (sig) {
    case SIGCHLD:
        reap(m);
        return;
    case SIGPIPE:
        return;
    case SIGHUP:
        start_reload(m);
        return;
    case SIGUSR1:
        if (herd_log_reopen(err, sizeof(err)) != HERD_OK)
            herd_log_error("reopening the error log: %s", err);
        else
            herd_log_info("SIGUSR1: reopened the error log");
        log_file_to_user(m->cfg);
        prepare_access_log(m->cfg);
        signal_workers(m, SIGUSR1);
        return;
    case SIGTTIN:
    case SIGTTOU:
        if (!m->stopping)
            change_workers(m, sig == SIGTTIN ? 1 : -1);
        return;
    default:
        break;
    }
    /* SIGTERM: graceful; SIGINT, SIGQUIT: fast (a second TERM after a
       fast stop changes nothing). */
    if (m->stopping && (sig == SIGTERM || m->stopping != SIGTERM))
        return;
    m->stopping = sig;
    herd_notify_stopping();
    herd_log_info("%s: stopping %d worker(s)",
                  sig == SIGTERM ? "graceful stop" : "fast stop",
                  live_procs(m));
    if (m->pending != NULL) {
        herd_config_free(m->pending);
        m->pending = NULL;
    }
    for (p = m->procs; p != NULL; p = p->next) {
        if (sig == SIGTERM) {
            send_stop(p);
        } else {
            p->state = HERD_SLOT_DRAINING;
            p->stop_ms = herd_mono_ms();
            kill(p->pid, SIGINT);
        }
    }
    if (m->procs == NULL)
        event_base_loopbreak(m->base);
}

/* ---- pid file ---- */

/* Lock the pid file before binding: a second herd on the same file would
   otherwise join the SO_REUSEPORT group and take half the connections. */
static int
pid_file_lock(struct herd_master *m)
{
    const char *path = m->cfg->pid_file;
    char buf[32];
    ssize_t n;

    m->pid_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (m->pid_fd < 0) {
        herd_log_error("pid_file: open(\"%s\") failed (%d: %s)", path, errno,
                       strerror(errno));
        return HERD_ERR;
    }
    if (flock(m->pid_fd, LOCK_EX | LOCK_NB) < 0) {
        n = read(m->pid_fd, buf, sizeof(buf) - 1);
        buf[n > 0 ? n : 0] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        herd_log_error("pid_file %s is locked by pid %s: another herd is "
                       "running",
                       path, buf[0] ? buf : "?");
        close(m->pid_fd);
        m->pid_fd = -1;
        return HERD_ERR;
    }
    return HERD_OK;
}

static int
pid_file_write(struct herd_master *m)
{
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%d\n", (int)m->pid);

    if (ftruncate(m->pid_fd, 0) < 0 ||
        pwrite(m->pid_fd, buf, (size_t)n, 0) != n) {
        herd_log_error("pid_file: writing %s failed (%d: %s)", m->cfg->pid_file,
                       errno, strerror(errno));
        return HERD_ERR;
    }
    return HERD_OK;
}

/* ---- start and stop ---- */

/* Start-up failed half-way: stop the workers already started, wait. */
static void
stop_now(struct herd_master *m)
{
    struct proc *p;
    pid_t pid;

    m->stopping = SIGINT;
    signal_workers(m, SIGINT);
    while (m->procs != NULL && (pid = waitpid(-1, NULL, 0)) > 0) {
        struct proc **pp = &m->procs;
        while (*pp != NULL && (*pp)->pid != pid)
            pp = &(*pp)->next;
        if ((p = *pp) != NULL) {
            *pp = p->next;
            proc_free(p);
        }
    }
}

/* Ask the kernel to hand connections queued on a closed SO_REUSEPORT
   socket to the others in its group (Linux 5.14+), so shrinking the
   worker count resets nobody. */
static void
enable_migrate_req(void)
{
    const char *path = "/proc/sys/net/ipv4/tcp_migrate_req";
    char v = '0';
    int fd = open(path, O_RDWR | O_CLOEXEC);

    if (fd >= 0 && read(fd, &v, 1) == 1 && v == '1') {
        close(fd);
        return;
    }
    if (fd >= 0 && pwrite(fd, "1\n", 2, 0) == 2) {
        herd_log_info("set net.ipv4.tcp_migrate_req = 1");
        close(fd);
        return;
    }
    herd_log_warn("cannot set net.ipv4.tcp_migrate_req (%s): when the "
                  "worker count shrinks, connections still queued on a "
                  "removed slot may be reset",
                  fd < 0 ? strerror(errno) : "not permitted");
    if (fd >= 0)
        close(fd);
}

static int
check_user(const struct herd_config *cfg)
{
    struct passwd *pw;

    if (cfg->user == NULL || geteuid() == 0)
        return HERD_OK;
    pw = getpwnam(cfg->user);
    if (pw != NULL && pw->pw_uid == geteuid())
        return HERD_OK;
    herd_log_error("user: cannot run workers as \"%s\": herd is not running "
                   "as root",
                   cfg->user);
    return HERD_ERR;
}

static void
master_free(struct herd_master *m)
{
    struct proc *p;
    size_t i;

    for (i = 0; i < HERD_ARRAY_LEN(m->sigs); i++)
        if (m->sigs[i])
            event_free(m->sigs[i]);
    if (m->tick)
        event_free(m->tick);
    if (m->reload_timer)
        event_free(m->reload_timer);
    for (i = 0; i < HERD_MAX_SLOTS; i++)
        if (m->slots[i].respawn)
            event_free(m->slots[i].respawn);
    while ((p = m->procs) != NULL) {
        m->procs = p->next;
        proc_free(p);
    }
    for (i = 0; i < m->nls; i++)
        herd_listener_close(&m->ls[i].l, 1);
    free(m->ls);
    herd_relay_free(m->relay); /* its Redis links use the base */
    if (m->base)
        event_base_free(m->base);
    for (i = 0; i < m->nroute_names; i++)
        free(m->route_names[i]);
    herd_scoreboard_destroy(m->sb);
    herd_activity_destroy(m->activity);
    if (m->pid_fd >= 0) {
        unlink(m->cfg->pid_file);
        close(m->pid_fd);
    }
    herd_config_free(m->pending);
    herd_config_free(m->cfg);
}

int
herd_master_run(struct herd_config *cfg, const char *path)
{
    static struct herd_master m;
    char err[HERD_ERR_LEN];
    struct timeval tv;
    size_t i;
    int s, status = 1;

    memset(&m, 0, sizeof(m));
    m.cfg = cfg;
    m.path = path;
    m.nslots = cfg->workers;
    m.pid = getpid();
    m.pid_fd = -1;
    m.generation = 1;
    m.reqid_nonce = herd_reqid_nonce();
    m.started_ms = herd_mono_ms();
    srandom((unsigned)m.pid ^ (unsigned)time(NULL));
    herd_log_set_role("master");
    if (herd_log_open(cfg->log.error, cfg->log.level, err, sizeof(err)) !=
        HERD_OK) {
        fprintf(stderr, "herd: error log: %s\n", err);
        goto done;
    }
    log_file_to_user(cfg);
    prepare_access_log(cfg);
    herd_log_tee_stderr(1);
    signal(SIGPIPE, SIG_IGN);
    m.base = event_base_new();
    m.sb = herd_scoreboard_create(err, sizeof(err));
    if (m.sb != NULL)
        m.activity = herd_activity_create(err, sizeof(err));
    if (m.base != NULL && m.activity != NULL)
        m.relay = herd_relay_new(m.base, cfg, err, sizeof(err));
    if (m.base == NULL || m.sb == NULL || m.activity == NULL ||
        m.relay == NULL) {
        herd_log_error("starting the master: %s",
                       m.sb == NULL ? err : "event_base_new() failed");
        goto done;
    }
    if (check_user(cfg) != HERD_OK)
        goto done;
    assign_route_ids(&m, cfg);
    if (cfg->pid_file != NULL && pid_file_lock(&m) != HERD_OK)
        goto done;
    enable_migrate_req();
    if (bind_listeners(&m, cfg, m.nslots, 1) != HERD_OK)
        goto done;
    if (m.pid_fd >= 0 && pid_file_write(&m) != HERD_OK)
        goto done;
    for (i = 0; i < HERD_ARRAY_LEN(handled_signals); i++) {
        m.sigs[i] = evsignal_new(m.base, handled_signals[i], on_signal, &m);
        if (m.sigs[i] == NULL || event_add(m.sigs[i], NULL) != 0)
            goto done;
    }
    m.reload_timer = evtimer_new(m.base, on_reload_timeout, &m);
    m.tick = event_new(m.base, -1, EV_PERSIST, on_tick, &m);
    tv = herd_ms_tv(cfg->worker.heartbeat_ms < 1000 ? cfg->worker.heartbeat_ms
                                                    : 1000);
    if (m.reload_timer == NULL || m.tick == NULL || event_add(m.tick, &tv) != 0)
        goto done;
    herd_log_info("herd " PACKAGE_VERSION " starting %d worker(s)", m.nslots);
    publish_server(&m);
    fflush(NULL);
    for (s = 0; s < m.nslots; s++) {
        if (spawn(&m, cfg, m.generation, s) == NULL) {
            stop_now(&m);
            goto done;
        }
        publish_slot(&m, s);
    }
    herd_log_tee_stderr(0);
    event_base_dispatch(m.base);
    status = 0;
    herd_log_info("stopped");
done:
    master_free(&m);
    herd_log_close();
    return status;
}
