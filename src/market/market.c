/* market.c: the market's lifecycle, its ticker and its pool of backend
 * calls. */
#include "market_priv.h"
#include "accounts.h"
#include "allocations.h"
#include "backends.h"
#include "contracts.h"
#include "offers.h"
#include "util/nc_error.h"
#include "util/nc_fs.h"
#include "util/nc_log.h"
#include "util/nc_time.h"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>
#include <string.h>
#include <time.h>

#define NC_MARKET_TICK_MS 200
#define NC_MARKET_JOB_THREADS 8
#define NC_MARKET_EVENTS_KEPT 4096
#define NC_MARKET_TRANSITION_SYNC_MS 1000
#define NC_MARKET_HOUSEKEEPING_MS (3600 * 1000)

typedef struct {
    char *key;
    char *arg;
    NcMarketJobFn fn;
} NcMarketJob;

static void
nc_market_job_run(gpointer data, gpointer user)
{
    NcMarket *m = user;
    NcMarketJob *job = data;
    if (!nc_market_stopping(m))
        job->fn(m, job->arg);
    g_mutex_lock(&m->jobs_lock);
    g_hash_table_remove(m->jobs, job->key);
    g_mutex_unlock(&m->jobs_lock);
    g_free(job->key);
    g_free(job->arg);
    g_free(job);
}

bool
nc_market_job_submit(NcMarket *m, const char *key, NcMarketJobFn fn, const char *arg)
{
    if (nc_market_stopping(m))
        return false;
    g_mutex_lock(&m->jobs_lock);
    if (g_hash_table_contains(m->jobs, key)) {
        g_mutex_unlock(&m->jobs_lock);
        return false;
    }
    int64_t *started = g_new(int64_t, 1);
    *started = nc_now_ms();
    g_hash_table_insert(m->jobs, g_strdup(key), started);
    g_mutex_unlock(&m->jobs_lock);
    NcMarketJob *job = g_new0(NcMarketJob, 1);
    job->key = g_strdup(key);
    job->arg = g_strdup(arg);
    job->fn = fn;
    g_thread_pool_push(m->pool, job, NULL);
    return true;
}

int64_t
nc_market_job_started(NcMarket *m, const char *key)
{
    g_mutex_lock(&m->jobs_lock);
    int64_t *started = g_hash_table_lookup(m->jobs, key);
    int64_t v = started ? *started : 0;
    g_mutex_unlock(&m->jobs_lock);
    return v;
}

void
nc_market_poke(NcMarket *m)
{
    g_atomic_int_set(&m->clear_now, 1);
    g_mutex_lock(&m->tick_lock);
    g_cond_signal(&m->tick_cond);
    g_mutex_unlock(&m->tick_lock);
}

bool
nc_market_stopping(NcMarket *m)
{
    return g_atomic_int_get(&m->stopping) != 0;
}

/* The ticker: everything that happens on the market's clock.  Each step
 * reports its own failure and the loop goes on: a busy store or an odd row
 * must not stop the market. */
/* Returns: the CPU time this thread has used, in microseconds. */
static int64_t
nc_market_thread_cpu_us(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) < 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static gpointer
nc_market_ticker(gpointer data)
{
    NcMarket *m = data;
    int64_t now = nc_mono_us() / 1000;
    int64_t next_clear = now, next_probe = now, next_sync = now, next_transition = now;
    int64_t next_house = now;
    int64_t next_launch = m->cfg.launch_probe_interval_ms > 0
                          ? now + m->cfg.launch_probe_interval_ms : G_MAXINT64;

    while (!nc_market_stopping(m)) {
        g_mutex_lock(&m->tick_lock);
        if (!g_atomic_int_get(&m->clear_now) && !nc_market_stopping(m))
            g_cond_wait_until(&m->tick_cond, &m->tick_lock,
                              g_get_monotonic_time() + NC_MARKET_TICK_MS * 1000);
        g_mutex_unlock(&m->tick_lock);
        if (nc_market_stopping(m))
            break;
        now = nc_mono_us() / 1000;
        g_autoptr(GError) err = NULL;

        int ended = nc_market_notices_expire(m, &err);
        if (ended < 0) {
            nc_log_warn("market: notices: %s", err->message);
            g_clear_error(&err);
        }
        bool poked = g_atomic_int_compare_and_exchange(&m->clear_now, 1, 0);
        if (now >= next_clear || poked || ended > 0) {
            int64_t t0 = nc_mono_us(), c0 = nc_market_thread_cpu_us();
            if (nc_market_clear_round(m, &err) < 0) {
                nc_log_warn("market: clearing: %s", err->message);
                g_clear_error(&err);
            } else {
                /* bench/market_round.py reads this line; CPU time too, as
                 * wall time on a shared machine says more of the others */
                nc_log_debug("market: clearing round took %.3f ms (cpu %.3f ms)",
                             (double)(nc_mono_us() - t0) / 1000.0,
                             (double)(nc_market_thread_cpu_us() - c0) / 1000.0);
            }
            if (now >= next_clear)
                next_clear = now + m->cfg.clearing_interval_ms;
        }
        bool probe = now >= next_probe;
        if (probe)
            next_probe = now + m->cfg.probe_interval_ms;
        bool launch = now >= next_launch;
        if (launch)
            next_launch = now + m->cfg.launch_probe_interval_ms;
        nc_market_backends_tick(m, probe, launch);
        if (now >= next_transition) {
            bool all = now >= next_sync;
            if (all)
                next_sync = now + m->cfg.sync_interval_ms;
            nc_market_allocations_tick(m, all);
            next_transition = now + NC_MARKET_TRANSITION_SYNC_MS;
        }
        if (now >= next_house) {
            nc_market_sessions_expire(m);
            nc_market_history_prune(m);
            next_house = now + NC_MARKET_HOUSEKEEPING_MS;
        }
    }
    return NULL;
}

static void
nc_market_free(NcMarket *m)
{
    if (m->pool)
        g_thread_pool_free(m->pool, TRUE, TRUE);
    nc_store_close(m->store);
    nc_market_events_free(m->events);
    nc_market_web_free(m->web);
    if (m->jobs)
        g_hash_table_destroy(m->jobs);
    if (m->login_failures)
        g_hash_table_destroy(m->login_failures);
    if (m->page_cache)
        g_hash_table_destroy(m->page_cache);
    g_mutex_clear(&m->tick_lock);
    g_cond_clear(&m->tick_cond);
    g_mutex_clear(&m->jobs_lock);
    g_mutex_clear(&m->login_lock);
    g_mutex_clear(&m->cache_lock);
    sodium_memzero(m->key, sizeof(m->key));
    g_free(m->listen);
    g_free(m->db);
    g_free(m->state_dir);
    g_free(m->web_dir);
    g_free(m->url);
    g_free(m);
}

NcMarket *
nc_market_start(const NcMarketConfig *cfg, GError **err)
{
    NcMarket *m = g_new0(NcMarket, 1);
    m->cfg = *cfg;
    m->listen = g_strdup(cfg->listen ? cfg->listen : "127.0.0.1:7401");
    m->state_dir = g_strdup(cfg->state_dir ? cfg->state_dir : ".");
    m->db = cfg->db ? g_strdup(cfg->db) : g_build_filename(m->state_dir, "market.db", NULL);
    m->web_dir = g_strdup(cfg->web_dir);
    m->cfg.listen = m->listen;
    m->cfg.state_dir = m->state_dir;
    m->cfg.db = m->db;
    m->cfg.web_dir = m->web_dir;
    if (m->cfg.clearing_interval_ms <= 0)
        m->cfg.clearing_interval_ms = 60000;
    if (m->cfg.notice_ms < 0)
        m->cfg.notice_ms = 0;
    else if (m->cfg.notice_ms == 0)
        m->cfg.notice_ms = 120000;
    if (m->cfg.probe_interval_ms <= 0)
        m->cfg.probe_interval_ms = 15000;
    if (m->cfg.sync_interval_ms <= 0)
        m->cfg.sync_interval_ms = 10000;
    if (m->cfg.session_ttl_s <= 0)
        m->cfg.session_ttl_s = 7 * 24 * 3600;
    g_mutex_init(&m->tick_lock);
    g_cond_init(&m->tick_cond);
    g_mutex_init(&m->jobs_lock);
    g_mutex_init(&m->login_lock);
    g_mutex_init(&m->cache_lock);
    m->jobs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    m->login_failures = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    m->events = nc_market_events_new(NC_MARKET_EVENTS_KEPT);

    /* the store holds password hashes and sealed tokens: owner only */
    if (!strstr(m->db, "://") && !g_str_has_prefix(m->db, "sqlite:") &&
        nc_fs_mkdir_p(m->state_dir, 0755, err) == 0) {
        int fd = open(m->db, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd >= 0)
            close(fd);
    }
    if (nc_fs_mkdir_p(m->state_dir, 0755, err) < 0 ||
        nc_market_key_load(m->state_dir, m->key, err) < 0 ||
        !(m->web = nc_market_web_load(m->web_dir, err)) ||
        !(m->store = nc_market_store_open(m->db, err))) {
        nc_market_free(m);
        return NULL;
    }
    m->pool = g_thread_pool_new(nc_market_job_run, m, NC_MARKET_JOB_THREADS, FALSE, NULL);
    if (nc_market_http_start(m, err) < 0) {
        nc_market_free(m);
        return NULL;
    }
    m->ticker = g_thread_new("market-ticker", nc_market_ticker, m);
    return m;
}

void
nc_market_stop(NcMarket *m)
{
    if (!m)
        return;
    g_atomic_int_set(&m->stopping, 1);
    nc_market_events_close(m->events);
    g_mutex_lock(&m->tick_lock);
    g_cond_broadcast(&m->tick_cond);
    g_mutex_unlock(&m->tick_lock);
    nc_market_http_stop(m);
    if (m->ticker)
        g_thread_join(m->ticker);
    nc_market_free(m);
}

uint16_t
nc_market_port(NcMarket *m)
{
    return m->port;
}

const char *
nc_market_url(NcMarket *m)
{
    return m->url;
}
