/* backends.c: backends, sealed tokens, health probes and quality. */
#include "backends.h"
#include "offers.h"
#include "market_valid.h"
#include "util/nc_error.h"
#include "util/nc_json.h"
#include "util/nc_log.h"
#include "util/nc_secret.h"
#include "util/nc_time.h"
#include "util/nc_valid.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NC_DAY_MS (24LL * 3600 * 1000)

/* Columns of a backend as buyers see it (nc_market_backend_public_row). */
#define NC_BACKEND_PUBLIC_COLS \
    "b.id, b.name, b.state, b.accel, b.depth, b.quality, b.upstream_allocation, b.removed_at"

static json_t *
nc_market_upstream_json(NcMarket *m, const char *allocation)
{
    if (!allocation)
        return json_null();
    g_autoptr(NcRows) r = nc_store_query(m->store, NULL,
                                         "SELECT a.provider, u.company, a.backend, ub.name"
                                         " FROM allocations a JOIN users u ON u.id = a.provider"
                                         " JOIN backends ub ON ub.id = a.backend WHERE a.id = $1",
                                         NC_TEXT(allocation), NC_END);
    if (!r || !nc_rows_next(r, NULL))
        return json_null();
    return json_pack("{s:{s:s, s:o}, s:{s:s, s:s}}",
                     "provider", "id", nc_rows_text(r, 0), "company", nc_market_col_json(r, 1),
                     "backend", "id", nc_rows_text(r, 2), "name", nc_rows_text(r, 3));
}

static json_t *
nc_market_backend_public_row(NcMarket *m, NcRows *r)
{
    json_error_t jerr;
    json_t *quality = json_loads(nc_rows_text(r, 5), 0, &jerr);
    g_autofree char *upstream_alloc = nc_rows_dup(r, 6);
    json_t *b = json_pack("{s:s, s:s, s:s, s:o, s:I, s:o, s:b}", "id", nc_rows_text(r, 0),
                          "name", nc_rows_text(r, 1),
                          "state", nc_rows_is_null(r, 7) ? nc_rows_text(r, 2) : "removed",
                          "accel", nc_market_col_json(r, 3), "depth",
                          (json_int_t)nc_rows_int(r, 4),
                          "quality", quality ? quality : json_object(),
                          "resale", upstream_alloc != NULL);
    /* the cursor is done with; the upstream needs a query of its own */
    json_object_set_new(b, "upstream", nc_market_upstream_json(m, upstream_alloc));
    return b;
}

json_t *
nc_market_backend_public(NcMarket *m, const char *id, GError **err)
{
    g_autoptr(NcRows) r = nc_store_query(m->store, err,
                                         "SELECT " NC_BACKEND_PUBLIC_COLS
                                         " FROM backends b WHERE b.id = $1",
                                         NC_TEXT(id), NC_END);
    if (!r)
        return NULL;
    if (!nc_rows_next(r, err)) {
        nc_error_set(err, NC_ERR_NOT_FOUND, "no such backend");
        return NULL;
    }
    return nc_market_backend_public_row(m, r);
}

/* The provider's view: the public one plus URL, status and errors. */
static json_t *
nc_market_backend_private(NcMarket *m, const char *id, GError **err)
{
    json_t *b = nc_market_backend_public(m, id, err);
    if (!b)
        return NULL;
    g_autoptr(NcRows) r = nc_store_query(m->store, err,
                                         "SELECT url, cloud_id, status, last_error, last_probe_at,"
                                         " last_ok_at, state_since, created_at, upstream_allocation,"
                                         " (SELECT COUNT(*) FROM offers o WHERE o.backend = b.id"
                                         "  AND o.state = 'active'),"
                                         " (SELECT COUNT(*) FROM allocations a WHERE a.backend = b.id"
                                         "  AND a.desired = 'present')"
                                         " FROM backends b WHERE id = $1",
                                         NC_TEXT(id), NC_END);
    if (!r || !nc_rows_next(r, err)) {
        json_decref(b);
        return NULL;
    }
    json_error_t jerr;
    json_t *status = json_loads(nc_rows_text(r, 2), 0, &jerr);
    json_object_update_new(b, json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:b,"
                                        " s:I, s:I}",
                                        "url", nc_rows_text(r, 0),
                                        "cloud_id", nc_market_col_json(r, 1),
                                        "status", status ? status : json_object(),
                                        "last_error", nc_market_col_json(r, 3),
                                        "last_probe_at", nc_market_time_json(nc_rows_int(r, 4)),
                                        "last_ok_at", nc_market_time_json(nc_rows_int(r, 5)),
                                        "state_since", nc_market_time_json(nc_rows_int(r, 6)),
                                        "created_at", nc_market_time_json(nc_rows_int(r, 7)),
                                        "upstream_allocation", nc_market_col_json(r, 8),
                                        "token_stored", true,
                                        "offers", (json_int_t)nc_rows_int(r, 9),
                                        "allocations", (json_int_t)nc_rows_int(r, 10)));
    return b;
}

/* The subset of a backend's /v1/status the market keeps. */
static json_t *
nc_market_status_digest(json_t *st)
{
    json_t *cap = json_object_get(st, "capacity");
    json_t *hosts = json_object_get(st, "hosts");
    return json_pack("{s:o, s:o, s:b, s:I, s:I, s:I, s:I, s:I, s:I}",
                     "version", nc_json_string_or_null(nc_json_str(st, "version")),
                     "accelerator", nc_json_string_or_null(nc_json_str(st, "accelerator")),
                     "nested", json_is_true(json_object_get(st, "nested")),
                     "hosts", (json_int_t)nc_json_int(hosts, "total", 0),
                     "hosts_up", (json_int_t)nc_json_int(hosts, "up", 0),
                     "vcpus", (json_int_t)nc_json_int(cap, "vcpus", 0),
                     "allocated_vcpus", (json_int_t)nc_json_int(cap, "allocated_vcpus", 0),
                     "memory_mib", (json_int_t)nc_json_int(cap, "memory_mib", 0),
                     "allocated_memory_mib",
                     (json_int_t)nc_json_int(cap, "allocated_memory_mib", 0));
}

/* An accelerator name from a backend, or NULL when it is not one we know. */
static const char *
nc_market_accel_name(const char *a)
{
    static const char *const known[] = { "kvm", "tcg", "sim" };
    for (size_t i = 0; a && i < G_N_ELEMENTS(known); i++)
        if (strcmp(a, known[i]) == 0)
            return known[i];
    return NULL;
}

json_t *
nc_market_backend_create(NcMarket *m, const NcMarketCaller *caller, json_t *body, GError **err)
{
    static const char *const keys[] = { "name", "url", "token", "upstream_allocation",
                                        "nesting_depth", NULL };
    const char *name = NULL, *url_in = NULL, *token = NULL, *upstream = NULL;
    int64_t declared_depth = -1;
    if (nc_json_check_keys(body, "a backend", keys, err) < 0 ||
        nc_json_get_string(body, "name", true, NC_MARKET_NAME_MAX, &name, err) < 0 ||
        nc_json_get_string(body, "url", true, 256, &url_in, err) < 0 ||
        nc_json_get_string(body, "token", true, 512, &token, err) < 0 ||
        nc_json_get_string(body, "upstream_allocation", false, 36, &upstream, err) < 0 ||
        nc_json_get_int(body, "nesting_depth", false, 0, 8, &declared_depth, err) < 0)
        return NULL;
    if (nc_market_text_check("name", name, 1, NC_MARKET_NAME_MAX, false, err) < 0 ||
        nc_market_text_check("token", token, 1, 512, false, err) < 0)
        return NULL;
    g_autofree char *url = nc_market_url_normalize(url_in, err);
    if (!url)
        return NULL;
    int64_t have = nc_market_count(m->store, err,
                                   "SELECT COUNT(*) FROM backends WHERE provider = $1"
                                   " AND removed_at IS NULL", NC_TEXT(caller->user_id), NC_END);
    if (have < 0)
        return NULL;
    if (have >= NC_MARKET_BACKENDS_PER_PROVIDER) {
        nc_error_set(err, NC_ERR_QUOTA_EXCEEDED, "a provider has at most %d backends",
                     NC_MARKET_BACKENDS_PER_PROVIDER);
        return NULL;
    }

    /* resale: the upstream must be the caller's own running compute allocation */
    int64_t depth = declared_depth < 0 ? 0 : declared_depth;
    if (upstream) {
        if (!nc_uuid_is_valid(upstream)) {
            nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "upstream_allocation must be an "
                         "allocation id");
            return NULL;
        }
        g_autoptr(NcRows) r = nc_store_query(m->store, err,
                                             "SELECT b.depth, a.kind, c.state FROM allocations a"
                                             " JOIN backends b ON b.id = a.backend"
                                             " JOIN contracts c ON c.id = a.contract"
                                             " WHERE a.id = $1 AND a.consumer = $2",
                                             NC_TEXT(upstream), NC_TEXT(caller->user_id), NC_END);
        if (!r)
            return NULL;
        if (!nc_rows_next(r, err)) {
            nc_error_set(err, NC_ERR_NOT_FOUND, "you hold no allocation %s", upstream);
            return NULL;
        }
        if (strcmp(nc_rows_text(r, 1), "compute") != 0 ||
            (strcmp(nc_rows_text(r, 2), "active") != 0 &&
             strcmp(nc_rows_text(r, 2), "notice") != 0)) {
            nc_error_set(err, NC_ERR_CONFLICT, "allocation %s is not a running compute "
                         "allocation of an active contract", upstream);
            return NULL;
        }
        int64_t derived = nc_rows_int(r, 0) + 1;
        if (declared_depth >= 0 && declared_depth != derived) {
            nc_error_set(err, NC_ERR_INVALID_ARGUMENT,
                         "nesting_depth %" G_GINT64_FORMAT " contradicts the upstream "
                         "allocation, which makes it %" G_GINT64_FORMAT, declared_depth, derived);
            return NULL;
        }
        depth = derived;
    }

    /* the token must work before anything is stored */
    g_autoptr(NcClient) cl = nc_client_new(url, token, NULL);
    g_autoptr(GError) call_err = NULL;
    g_autoptr(json_t) st = nc_client_call(cl, "GET", "/v1/status", NULL, NULL, &call_err);
    if (!st) {
        NcErrorCode code = nc_error_code(call_err);
        if (code == NC_ERR_UNAUTHENTICATED || code == NC_ERR_FORBIDDEN)
            nc_error_set(err, NC_ERR_UNPROCESSABLE,
                         "the backend at %s refused the token: %s", url, call_err->message);
        else
            nc_error_set(err, NC_ERR_UNPROCESSABLE,
                         "the backend at %s did not answer GET /v1/status: %s", url,
                         call_err->message);
        return NULL;
    }
    const char *cloud_id = nc_json_str(st, "cloud_id");
    if (!cloud_id || !nc_uuid_is_valid(cloud_id)) {
        nc_error_set(err, NC_ERR_UNPROCESSABLE, "%s does not look like a nestcloud API "
                     "(no cloud_id in /v1/status)", url);
        return NULL;
    }
    int64_t dup = nc_market_count(m->store, err,
                                  "SELECT COUNT(*) FROM backends WHERE provider = $1 AND"
                                  " cloud_id = $2 AND removed_at IS NULL",
                                  NC_TEXT(caller->user_id), NC_TEXT(cloud_id), NC_END);
    if (dup < 0)
        return NULL;
    if (dup > 0) {
        nc_error_set(err, NC_ERR_CONFLICT, "you have registered this cloud (%s) already",
                     cloud_id);
        return NULL;
    }
    g_autofree char *id = nc_uuid_new();
    g_autofree char *sealed = nc_market_seal(m->key, token);
    g_autoptr(json_t) digest = nc_market_status_digest(st);
    g_autofree char *digest_text = nc_json_dumps(digest);
    int64_t now = nc_now_ms();
    if (nc_store_exec(m->store, err,
                      "INSERT INTO backends (id, provider, name, url, token_sealed, depth,"
                      " upstream_allocation, cloud_id, accel, state, state_since, status,"
                      " last_probe_at, last_ok_at, created_at)"
                      " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,'up',$10,$11,$10,$10,$10)",
                      NC_TEXT(id), NC_TEXT(caller->user_id), NC_TEXT(name), NC_TEXT(url),
                      NC_TEXT(sealed), NC_INT(depth), NC_TEXT(upstream), NC_TEXT(cloud_id),
                      NC_TEXT(nc_market_accel_name(nc_json_str(st, "accelerator"))),
                      NC_INT(now), NC_TEXT(digest_text), NC_END) < 0)
        return NULL;
    nc_store_exec(m->store, NULL,
                  "INSERT INTO probes (backend, time, ok, latency_ms) VALUES ($1,$2,1,0)",
                  NC_TEXT(id), NC_INT(now), NC_END);
    nc_market_backend_update_quality(m, id, NULL);
    nc_market_events_publish(m->events, "backend", caller->user_id, NULL, NULL,
                             json_pack("{s:s, s:s}", "id", id, "state", "up"));
    return nc_market_backend_private(m, id, err);
}

json_t *
nc_market_backend_list(NcMarket *m, const NcMarketCaller *caller, GError **err)
{
    g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func(g_free);
    {
        g_autoptr(NcRows) r = nc_store_query(m->store, err,
                                             "SELECT id FROM backends WHERE provider = $1"
                                             " AND removed_at IS NULL ORDER BY created_at",
                                             NC_TEXT(caller->user_id), NC_END);
        if (!r)
            return NULL;
        while (nc_rows_next(r, err))
            g_ptr_array_add(ids, nc_rows_dup(r, 0));
        if (*err)
            return NULL;
    }
    json_t *list = json_array();
    for (guint i = 0; i < ids->len; i++) {
        json_t *b = nc_market_backend_private(m, g_ptr_array_index(ids, i), err);
        if (!b) {
            json_decref(list);
            return NULL;
        }
        json_array_append_new(list, b);
    }
    return json_pack("{s:o}", "backends", list);
}

/* 0 when @id is the caller's backend (removed or not), else NOT_FOUND. */
static int
nc_market_backend_owned(NcMarket *m, const NcMarketCaller *caller, const char *id,
                        bool allow_removed, GError **err)
{
    int64_t n = nc_market_count(m->store, err,
                                "SELECT COUNT(*) FROM backends WHERE id = $1 AND provider = $2"
                                " AND ($3 = 1 OR removed_at IS NULL)",
                                NC_TEXT(id), NC_TEXT(caller->user_id), NC_INT(allow_removed),
                                NC_END);
    return nc_store_found(n, err, "you have no backend %.40s", id);
}

json_t *
nc_market_backend_get(NcMarket *m, const NcMarketCaller *caller, const char *id, GError **err)
{
    if (nc_market_backend_owned(m, caller, id, false, err) < 0)
        return NULL;
    json_t *b = nc_market_backend_private(m, id, err);
    if (!b)
        return NULL;
    g_autoptr(NcRows) r = nc_store_query(m->store, err,
                                         "SELECT time, ok, latency_ms FROM probes WHERE backend = $1"
                                         " ORDER BY id DESC LIMIT 60", NC_TEXT(id), NC_END);
    json_t *probes = json_array();
    while (r && nc_rows_next(r, NULL))
        json_array_append_new(probes, json_pack("{s:o, s:b, s:I}", "time",
                                                nc_market_time_json(nc_rows_int(r, 0)),
                                                "ok", nc_rows_int(r, 1) != 0, "latency_ms",
                                                (json_int_t)nc_rows_int(r, 2)));
    json_object_set_new(b, "probes", probes);
    g_clear_pointer(&r, nc_rows_free);
    r = nc_store_query(m->store, err,
                       "SELECT time, kind, value, detail FROM backend_events WHERE backend = $1"
                       " ORDER BY id DESC LIMIT 50", NC_TEXT(id), NC_END);
    json_t *events = json_array();
    while (r && nc_rows_next(r, NULL))
        json_array_append_new(events, json_pack("{s:o, s:s, s:I, s:o}", "time",
                                                nc_market_time_json(nc_rows_int(r, 0)),
                                                "kind", nc_rows_text(r, 1), "value",
                                                (json_int_t)nc_rows_int(r, 2), "detail",
                                                nc_market_col_json(r, 3)));
    json_object_set_new(b, "events", events);
    return b;
}

int
nc_market_backend_delete(NcMarket *m, const NcMarketCaller *caller, const char *id, GError **err)
{
    if (nc_market_backend_owned(m, caller, id, false, err) < 0)
        return -1;
    g_autoptr(GPtrArray) offers = g_ptr_array_new_with_free_func(g_free);
    {
        g_autoptr(NcRows) r = nc_store_query(m->store, err,
                                             "SELECT id FROM offers WHERE backend = $1"
                                             " AND state = 'active'", NC_TEXT(id), NC_END);
        if (!r)
            return -1;
        while (nc_rows_next(r, err))
            g_ptr_array_add(offers, nc_rows_dup(r, 0));
        if (*err)
            return -1;
    }
    for (guint i = 0; i < offers->len; i++)
        if (nc_market_offer_withdraw_internal(m, g_ptr_array_index(offers, i), "backend removed",
                                              err) < 0)
            return -1;
    int64_t now = nc_now_ms();
    if (nc_store_exec(m->store, err,
                      "UPDATE backends SET removed_at = $2, state_since = $2 WHERE id = $1",
                      NC_TEXT(id), NC_INT(now), NC_END) < 0)
        return -1;
    nc_market_events_publish(m->events, "backend", caller->user_id, NULL, NULL,
                             json_pack("{s:s, s:s}", "id", id, "state", "removed"));
    return 0;
}

NcClient *
nc_market_backend_client(NcMarket *m, const char *id, GError **err)
{
    g_autofree char *url = NULL;
    g_autofree char *sealed = NULL;
    {
        g_autoptr(NcRows) r = nc_store_query(m->store, err,
                                             "SELECT url, token_sealed FROM backends WHERE id = $1",
                                             NC_TEXT(id), NC_END);
        if (!r)
            return NULL;
        if (!nc_rows_next(r, err)) {
            nc_error_set(err, NC_ERR_NOT_FOUND, "no such backend");
            return NULL;
        }
        url = nc_rows_dup(r, 0);
        sealed = nc_rows_dup(r, 1);
    }
    char *token = nc_market_unseal(m->key, sealed, err);
    if (!token)
        return NULL;
    NcClient *c = nc_client_new(url, token, NULL);
    nc_market_secret_free(token);
    return c;
}

static int
nc_market_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static json_t *
nc_market_percent_or_null(int64_t ok, int64_t total)
{
    if (total <= 0)
        return json_null();
    return json_real(floor((double)ok * 100000.0 / (double)total) / 1000.0);
}

int
nc_market_backend_update_quality(NcMarket *m, const char *backend, GError **err)
{
    int64_t now = nc_now_ms();
    int64_t ok24 = 0, n24 = 0, ok7 = 0, n7 = 0, lat = -1;
    {
        g_autoptr(NcRows) r = nc_store_query(m->store, err,
                                             "SELECT COUNT(*), COALESCE(SUM(ok), 0) FROM probes"
                                             " WHERE backend = $1 AND time >= $2",
                                             NC_TEXT(backend), NC_INT(now - NC_DAY_MS), NC_END);
        if (!r || !nc_rows_next(r, err))
            return -1;
        n24 = nc_rows_int(r, 0);
        ok24 = nc_rows_int(r, 1);
    }
    {
        g_autoptr(NcRows) r = nc_store_query(m->store, err,
                                             "SELECT COUNT(*), COALESCE(SUM(ok), 0) FROM probes"
                                             " WHERE backend = $1 AND time >= $2",
                                             NC_TEXT(backend), NC_INT(now - 7 * NC_DAY_MS), NC_END);
        if (!r || !nc_rows_next(r, err))
            return -1;
        n7 = nc_rows_int(r, 0);
        ok7 = nc_rows_int(r, 1);
    }
    int64_t samples[64];
    size_t ns = 0;
    {
        g_autoptr(NcRows) r = nc_store_query(m->store, err,
                                             "SELECT latency_ms FROM probes WHERE backend = $1"
                                             " AND ok = 1 ORDER BY id DESC LIMIT 21",
                                             NC_TEXT(backend), NC_END);
        while (r && nc_rows_next(r, NULL) && ns < G_N_ELEMENTS(samples))
            samples[ns++] = nc_rows_int(r, 0);
        if (ns) {
            qsort(samples, ns, sizeof(int64_t), nc_market_cmp_i64);
            lat = samples[ns / 2];
        }
    }
    int64_t launch = -1;
    size_t nlaunch = 0;
    {
        g_autoptr(NcRows) r = nc_store_query(m->store, err,
                                             "SELECT value FROM backend_events WHERE backend = $1"
                                             " AND kind = 'launch' ORDER BY id DESC LIMIT 51",
                                             NC_TEXT(backend), NC_END);
        ns = 0;
        while (r && nc_rows_next(r, NULL) && ns < G_N_ELEMENTS(samples))
            samples[ns++] = nc_rows_int(r, 0);
        nlaunch = ns;
        if (ns) {
            qsort(samples, ns, sizeof(int64_t), nc_market_cmp_i64);
            launch = samples[ns / 2];
        }
    }
    int64_t interruptions = nc_market_count(m->store, err,
                                            "SELECT COUNT(*) FROM backend_events WHERE"
                                            " backend = $1 AND time >= $2 AND (kind ="
                                            " 'interruption' OR (kind = 'down' AND value > 0))",
                                            NC_TEXT(backend), NC_INT(now - 30 * NC_DAY_MS),
                                            NC_END);
    int64_t downs = nc_market_count(m->store, err,
                                    "SELECT COUNT(*) FROM backend_events WHERE backend = $1"
                                    " AND time >= $2 AND kind = 'down'",
                                    NC_TEXT(backend), NC_INT(now - 30 * NC_DAY_MS), NC_END);
    if (interruptions < 0 || downs < 0)
        return -1;
    g_autoptr(json_t) q = json_pack("{s:o, s:o, s:I, s:I, s:o, s:o, s:I, s:I, s:I}",
                                    "availability_24h", nc_market_percent_or_null(ok24, n24),
                                    "availability_7d", nc_market_percent_or_null(ok7, n7),
                                    "probes_24h", (json_int_t)n24,
                                    "failed_probes_24h", (json_int_t)(n24 - ok24),
                                    "probe_latency_ms", lat >= 0 ? json_integer(lat) : json_null(),
                                    "launch_ms", launch >= 0 ? json_integer(launch) : json_null(),
                                    "launch_samples", (json_int_t)nlaunch,
                                    "interruptions_30d", (json_int_t)interruptions,
                                    "down_events_30d", (json_int_t)downs);
    g_autofree char *text = nc_json_dumps(q);
    return nc_store_exec(m->store, err,
                         "UPDATE backends SET quality = $2, availability = $3, launch_ms = $4,"
                         " interruptions = $5 WHERE id = $1",
                         NC_TEXT(backend), NC_TEXT(text),
                         NC_INT(n24 ? ok24 * 1000 / n24 : 0),
                         launch >= 0 ? NC_INT(launch) : NC_NULL, NC_INT(interruptions),
                         NC_END) < 0 ? -1 : 0;
}

static void
nc_market_backend_event(NcMarket *m, const char *backend, const char *kind, int64_t value,
                        const char *detail)
{
    nc_store_exec(m->store, NULL,
                  "INSERT INTO backend_events (backend, time, kind, value, detail)"
                  " VALUES ($1,$2,$3,$4,$5)",
                  NC_TEXT(backend), NC_INT(nc_now_ms()), NC_TEXT(kind), NC_INT(value),
                  NC_TEXT(detail), NC_END);
}

void
nc_market_backend_record_launch(NcMarket *m, const char *backend, int64_t ms)
{
    nc_market_backend_event(m, backend, "launch", ms, NULL);
    nc_market_backend_update_quality(m, backend, NULL);
}

void
nc_market_backend_record_interruption(NcMarket *m, const char *backend, const char *detail)
{
    nc_market_backend_event(m, backend, "interruption", 1, detail);
    nc_market_backend_update_quality(m, backend, NULL);
}

/* Applies one probe's outcome.  @started: when the probe began; a result
 * is dropped when the ticker already counted this probe as timed out. */
static void
nc_market_backend_apply_probe(NcMarket *m, const char *id, int64_t started, bool ok,
                              int64_t latency, json_t *status, const char *error)
{
    g_autoptr(GError) err = NULL;
    g_auto(NcStoreTxn) txn = { 0 };
    if (nc_store_txn_begin(&txn, m->store, &err) < 0)
        return;
    g_autofree char *state = NULL;
    g_autofree char *provider = NULL;
    int64_t failures = 0, last_probe = 0;
    {
        g_autoptr(NcRows) r = nc_store_query(m->store, &err,
                                             "SELECT state, failures, last_probe_at, provider"
                                             " FROM backends WHERE id = $1", NC_TEXT(id), NC_END);
        if (!r || !nc_rows_next(r, &err))
            return;
        state = nc_rows_dup(r, 0);
        failures = nc_rows_int(r, 1);
        last_probe = nc_rows_int(r, 2);
        provider = nc_rows_dup(r, 3);
    }
    if (last_probe > started)
        return;   /* counted as a timeout meanwhile */
    int64_t now = nc_now_ms();
    failures = ok ? 0 : failures + 1;
    const char *new_state = ok ? "up" : (failures >= NC_MARKET_DOWN_AFTER ? "down" : state);
    bool changed = strcmp(new_state, state) != 0;
    g_autofree char *status_text = status ? nc_json_dumps(status) : NULL;
    nc_store_exec(m->store, &err,
                  "INSERT INTO probes (backend, time, ok, latency_ms) VALUES ($1,$2,$3,$4)",
                  NC_TEXT(id), NC_INT(now), NC_INT(ok), NC_INT(latency), NC_END);
    nc_store_exec(m->store, &err,
                  "UPDATE backends SET state = $2, failures = $3, last_probe_at = $4,"
                  " last_ok_at = CASE WHEN $5 = 1 THEN $4 ELSE last_ok_at END,"
                  " status = COALESCE($6, status), last_error = $7,"
                  " state_since = CASE WHEN $8 = 1 THEN $4 ELSE state_since END WHERE id = $1",
                  NC_TEXT(id), NC_TEXT(new_state), NC_INT(failures), NC_INT(now), NC_INT(ok),
                  NC_TEXT(status_text), NC_TEXT(ok ? NULL : error), NC_INT(changed), NC_END);
    if (changed) {
        int64_t held = nc_market_count(m->store, NULL,
                                       "SELECT COUNT(*) FROM allocations WHERE backend = $1"
                                       " AND desired = 'present' AND remote_id IS NOT NULL",
                                       NC_TEXT(id), NC_END);
        if (strcmp(new_state, "down") == 0)
            nc_market_backend_event(m, id, "down", MAX(held, 0), error);
        else if (strcmp(state, "down") == 0)
            nc_market_backend_event(m, id, "up", 0, NULL);
    }
    nc_market_backend_update_quality(m, id, NULL);
    if (nc_store_txn_commit(&txn, &err) < 0)
        return;
    if (changed) {
        nc_log_info("market: backend %s is %s%s%s", id, new_state, error ? ": " : "",
                    error ? error : "");
        nc_market_events_publish(m->events, "backend", provider, NULL, NULL,
                                 json_pack("{s:s, s:s}", "id", id, "state", new_state));
    }
}

void
nc_market_backend_probe_job(NcMarket *m, const char *id)
{
    g_autoptr(GError) err = NULL;
    int64_t started = nc_now_ms();
    g_autoptr(NcClient) cl = nc_market_backend_client(m, id, &err);
    if (!cl)
        return;
    int64_t t0 = nc_mono_us();
    g_autoptr(json_t) st = nc_client_call(cl, "GET", "/v1/status", NULL, NULL, &err);
    int64_t latency = (nc_mono_us() - t0) / 1000;
    bool ok = st && nc_json_str(st, "cloud_id") && latency <= NC_MARKET_PROBE_TIMEOUT_MS;
    g_autoptr(json_t) digest = st ? nc_market_status_digest(st) : NULL;
    g_autofree char *msg = ok ? NULL : g_strdup(err ? err->message
                                                    : "the answer came too late or was not a "
                                                      "nestcloud status");
    nc_market_backend_apply_probe(m, id, started, ok, latency, digest, msg);
}

/* Polls a backend operation until it ends; returns its duration in ms or -1. */
static int64_t
nc_market_wait_operation(NcMarket *m, NcClient *cl, const char *op_id, int timeout_s)
{
    g_autofree char *path = g_strconcat("/v1/operations/", op_id, NULL);
    for (int i = 0; i < timeout_s * 4 && !nc_market_stopping(m); i++) {
        g_autoptr(json_t) op = nc_client_call(cl, "GET", path, NULL, NULL, NULL);
        const char *status = op ? nc_json_str(op, "status") : NULL;
        if (g_strcmp0(status, "succeeded") == 0) {
            int64_t a = 0, b = 0;
            if (nc_time_parse(nc_json_str(op, "created_at"), &a, NULL) < 0 ||
                nc_time_parse(nc_json_str(op, "updated_at"), &b, NULL) < 0)
                return -1;
            return b - a;
        }
        if (g_strcmp0(status, "failed") == 0)
            return -1;
        g_usleep(250000);
    }
    return -1;
}

void
nc_market_backend_launch_probe_job(NcMarket *m, const char *id)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(NcClient) cl = nc_market_backend_client(m, id, &err);
    if (!cl)
        return;
    unsigned char rnd[4];
    nc_secret_random(rnd, sizeof(rnd));
    g_autofree char *name = g_strdup_printf("market-probe-%02x%02x%02x%02x", rnd[0], rnd[1],
                                            rnd[2], rnd[3]);
    g_autoptr(json_t) spec = json_pack("{s:s, s:s, s:i, s:i, s:i, s:b}", "name", name,
                                       "image", "test", "vcpus", 1, "memory_mib", 128,
                                       "max_memory_mib", 128, "start", 1);
    g_autoptr(json_t) op = nc_client_call(cl, "POST", "/v1/vms", spec, NULL, &err);
    if (!op) {
        nc_market_backend_event(m, id, "launch_probe_failed", 0, err->message);
        return;
    }
    int64_t ms = nc_market_wait_operation(m, cl, nc_json_str(op, "id"), 300);
    if (ms >= 0)
        nc_market_backend_record_launch(m, id, ms);
    else
        nc_market_backend_event(m, id, "launch_probe_failed", 0, "the test launch failed");
    const char *vm = nc_json_str(json_object_get(op, "target"), "id");
    g_autofree char *path = g_strconcat("/v1/vms/", vm ? vm : name, NULL);
    g_autoptr(json_t) del = nc_client_call(cl, "DELETE", path, NULL, NULL, NULL);
}

void
nc_market_backends_tick(NcMarket *m, bool probe_now, bool launch_probe_now)
{
    g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func(g_free);
    {
        /* removed backends stay probed while they hold allocations */
        g_autoptr(NcRows) r = nc_store_query(m->store, NULL,
                                             "SELECT b.id FROM backends b WHERE b.removed_at IS NULL"
                                             " OR EXISTS (SELECT 1 FROM allocations a WHERE"
                                             " a.backend = b.id AND a.state <> 'deleted')",
                                             NC_END);
        while (r && nc_rows_next(r, NULL))
            g_ptr_array_add(ids, nc_rows_dup(r, 0));
    }
    int64_t now = nc_now_ms();
    for (guint i = 0; i < ids->len; i++) {
        const char *id = g_ptr_array_index(ids, i);
        g_autofree char *key = g_strconcat("probe:", id, NULL);
        int64_t started = nc_market_job_started(m, key);
        if (started && now - started > NC_MARKET_PROBE_TIMEOUT_MS) {
            g_autofree char *msg = g_strdup_printf("no answer within %d ms",
                                                   NC_MARKET_PROBE_TIMEOUT_MS);
            /* counted once: the apply below moves last_probe_at past start */
            g_autoptr(NcRows) r = nc_store_query(m->store, NULL,
                                                 "SELECT last_probe_at FROM backends WHERE id = $1",
                                                 NC_TEXT(id), NC_END);
            bool counted = r && nc_rows_next(r, NULL) && nc_rows_int(r, 0) > started;
            g_clear_pointer(&r, nc_rows_free);
            if (!counted)
                nc_market_backend_apply_probe(m, id, started, false,
                                              NC_MARKET_PROBE_TIMEOUT_MS, NULL, msg);
            continue;
        }
        if (probe_now)
            nc_market_job_submit(m, key, nc_market_backend_probe_job, id);
        if (launch_probe_now) {
            g_autofree char *lkey = g_strconcat("launch:", id, NULL);
            nc_market_job_submit(m, lkey, nc_market_backend_launch_probe_job, id);
        }
    }
}
