/* contracts.c: the contract state machine and the clearing round. */
#include "contracts.h"
#include "allocations.h"
#include "auction.h"
#include "market_valid.h"
#include "metering.h"
#include "offers.h"
#include "util/nc_error.h"
#include "util/nc_json.h"
#include "util/nc_time.h"
#include "util/nc_valid.h"

#include <string.h>

static const char *const nc_contract_state_names[NC_CONTRACT_STATE_MAX] = {
    [NC_CONTRACT_REQUESTED] = "requested",
    [NC_CONTRACT_AGREED] = "agreed",
    [NC_CONTRACT_ACTIVE] = "active",
    [NC_CONTRACT_NOTICE] = "notice",
    [NC_CONTRACT_ENDED] = "ended",
};

/* The arrows of the diagram in contracts.h. */
static const bool nc_contract_arrows[NC_CONTRACT_STATE_MAX][NC_CONTRACT_STATE_MAX] = {
    [NC_CONTRACT_REQUESTED] = { [NC_CONTRACT_AGREED] = true, [NC_CONTRACT_ENDED] = true },
    [NC_CONTRACT_AGREED] = { [NC_CONTRACT_ACTIVE] = true, [NC_CONTRACT_ENDED] = true },
    [NC_CONTRACT_ACTIVE] = { [NC_CONTRACT_NOTICE] = true, [NC_CONTRACT_ENDED] = true },
    [NC_CONTRACT_NOTICE] = { [NC_CONTRACT_ACTIVE] = true, [NC_CONTRACT_ENDED] = true },
    [NC_CONTRACT_ENDED] = { 0 },
};

const char *
nc_contract_state_name(NcContractState s)
{
    return (unsigned)s < NC_CONTRACT_STATE_MAX ? nc_contract_state_names[s] : "unknown";
}

NcContractState
nc_contract_state_from_name(const char *name)
{
    for (int i = 0; name && i < NC_CONTRACT_STATE_MAX; i++)
        if (strcmp(nc_contract_state_names[i], name) == 0)
            return (NcContractState)i;
    return NC_CONTRACT_STATE_MAX;
}

bool
nc_contract_transition_allowed(NcContractState from, NcContractState to)
{
    if ((unsigned)from >= NC_CONTRACT_STATE_MAX || (unsigned)to >= NC_CONTRACT_STATE_MAX)
        return false;
    return nc_contract_arrows[from][to];
}

int64_t
nc_contract_effective_price(const char *pricing, int64_t clearing, int64_t max_price)
{
    if (g_strcmp0(pricing, "fixed") == 0)
        return clearing;
    return MIN(clearing, max_price);
}

/* ---- events queued until the transaction commits ---- */

typedef struct {
    char *type;
    char *user_a;
    char *user_b;
    char *offer;
    json_t *data;
} NcPendingEvent;

static void
nc_pending_event_free(NcPendingEvent *e)
{
    g_free(e->type);
    g_free(e->user_a);
    g_free(e->user_b);
    g_free(e->offer);
    json_decref(e->data);
    g_free(e);
}

static __thread GPtrArray *nc_pending_events;

static void
nc_contract_queue_event(const char *type, const char *a, const char *b, const char *offer,
                        json_t *data)
{
    if (!nc_pending_events)
        nc_pending_events = g_ptr_array_new_with_free_func((GDestroyNotify)nc_pending_event_free);
    NcPendingEvent *e = g_new0(NcPendingEvent, 1);
    e->type = g_strdup(type);
    e->user_a = g_strdup(a);
    e->user_b = g_strdup(b);
    e->offer = g_strdup(offer);
    e->data = data;
    g_ptr_array_add(nc_pending_events, e);
}

void
nc_market_contracts_flush_events(NcMarket *m)
{
    if (!nc_pending_events)
        return;
    for (guint i = 0; i < nc_pending_events->len; i++) {
        NcPendingEvent *e = g_ptr_array_index(nc_pending_events, i);
        nc_market_events_publish(m->events, e->type, e->user_a, e->user_b, e->offer,
                                 g_steal_pointer(&e->data));
    }
    g_ptr_array_set_size(nc_pending_events, 0);
}

void
nc_market_contracts_drop_events(void)
{
    if (nc_pending_events)
        g_ptr_array_set_size(nc_pending_events, 0);
}

/* ---- transitions ---- */

static int nc_contract_nested_notice(NcMarket *m, const char *contract, int64_t until,
                                     GError **err);
static int nc_contract_upstream_ended(NcMarket *m, const char *contract, GError **err);

/**
 * nc_contract_transition:
 * @from: the state the contract must be in
 * @to: the new state; the pair must be an arrow of contracts.h
 * @reason: why, for the log and the page
 * @notice_until: for @to == notice: the deadline
 *
 * Changes the row only when it is still in @from (NC_ERR_CONFLICT
 * otherwise), logs the transition, queues the event, and does what the
 * new state implies: an allocation for active, a release and the last
 * meter reading for ended, notices passed down for notice.
 */
static int
nc_contract_transition(NcMarket *m, const char *id, NcContractState from, NcContractState to,
                       const char *reason, int64_t notice_until, GError **err)
{
    g_assert(nc_contract_transition_allowed(from, to));
    int64_t now = nc_now_ms();
    const char *fs = nc_contract_state_name(from), *ts = nc_contract_state_name(to);
    int64_t n = nc_store_exec(m->store, err,
                              "UPDATE contracts SET state = $3, updated_at = $4,"
                              " agreed_at = CASE WHEN $3 = 'agreed' THEN $4 ELSE agreed_at END,"
                              " activated_at = CASE WHEN $3 = 'active' AND activated_at IS NULL"
                              "  THEN $4 ELSE activated_at END,"
                              " ended_at = CASE WHEN $3 = 'ended' THEN $4 ELSE ended_at END,"
                              " end_reason = CASE WHEN $3 = 'ended' THEN $5 ELSE end_reason END,"
                              " notice_until = CASE WHEN $3 = 'notice' THEN $6"
                              "  WHEN $3 = 'active' THEN NULL ELSE notice_until END,"
                              " notice_reason = CASE WHEN $3 = 'notice' THEN $5"
                              "  WHEN $3 = 'active' THEN NULL ELSE notice_reason END"
                              " WHERE id = $1 AND state = $2",
                              NC_TEXT(id), NC_TEXT(fs), NC_TEXT(ts), NC_INT(now), NC_TEXT(reason),
                              NC_INT(notice_until), NC_END);
    if (n < 0)
        return -1;
    if (n == 0) {
        nc_error_set(err, NC_ERR_CONFLICT, "the contract is no longer %s", fs);
        return -1;
    }
    if (nc_store_exec(m->store, err,
                      "INSERT INTO contract_log (contract, time, from_state, to_state, reason)"
                      " VALUES ($1,$2,$3,$4,$5)",
                      NC_TEXT(id), NC_INT(now), NC_TEXT(fs), NC_TEXT(ts), NC_TEXT(reason),
                      NC_END) < 0)
        return -1;
    if (to == NC_CONTRACT_ACTIVE && from == NC_CONTRACT_AGREED &&
        nc_market_allocation_create_row(m, id, err) < 0)
        return -1;
    if (to == NC_CONTRACT_ENDED && (from == NC_CONTRACT_ACTIVE || from == NC_CONTRACT_NOTICE)) {
        if (nc_market_meter_stop(m, id, now / 1000, err) < 0 ||
            nc_market_allocation_release(m, id, err) < 0 ||
            nc_contract_upstream_ended(m, id, err) < 0)
            return -1;
    }
    if (to == NC_CONTRACT_NOTICE && nc_contract_nested_notice(m, id, notice_until, err) < 0)
        return -1;

    g_autoptr(NcRows) r = nc_store_query(m->store, err,
                                         "SELECT consumer, provider, offer FROM contracts"
                                         " WHERE id = $1", NC_TEXT(id), NC_END);
    if (!r || !nc_rows_next(r, err))
        return -1;
    json_t *data = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "id", id, "offer",
                             nc_rows_text(r, 2), "from", fs, "state", ts, "reason", reason,
                             "notice_until", nc_market_time_json(to == NC_CONTRACT_NOTICE
                                                                 ? notice_until : 0));
    nc_contract_queue_event("contract", nc_rows_text(r, 0), nc_rows_text(r, 1), NULL, data);
    return 0;
}

/* As nc_contract_transition(), for a caller that read @from earlier in the
 * same transaction: a contract that has left @from since (a notice or an end
 * passed down from its upstream moved it) is skipped, not an error.
 * Returns: 1 when moved, 0 when skipped, -1 on failure. */
static int
nc_contract_transition_if(NcMarket *m, const char *id, NcContractState from,
                          NcContractState to, const char *reason, int64_t notice_until,
                          GError **err)
{
    g_autoptr(GError) local = NULL;
    if (nc_contract_transition(m, id, from, to, reason, notice_until, &local) == 0)
        return 1;
    if (nc_error_code(local) == NC_ERR_CONFLICT)
        return 0;
    g_propagate_error(err, g_steal_pointer(&local));
    return -1;
}

/* Contracts running on backends resold from @contract's allocation. */
static GPtrArray *
nc_contract_nested(NcMarket *m, const char *contract, const char *states_sql, GError **err)
{
    g_autofree char *sql = g_strdup_printf(
        "SELECT c.id, c.state FROM contracts c JOIN offers o ON o.id = c.offer"
        " JOIN backends b ON b.id = o.backend JOIN allocations a ON a.id = b.upstream_allocation"
        " WHERE a.contract = $1 AND c.state IN (%s)", states_sql);
    g_autoptr(NcRows) r = nc_store_query(m->store, err, sql, NC_TEXT(contract), NC_END);
    if (!r)
        return NULL;
    GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
    while (nc_rows_next(r, err)) {
        g_ptr_array_add(out, nc_rows_dup(r, 0));
        g_ptr_array_add(out, nc_rows_dup(r, 1));
    }
    if (*err) {
        g_ptr_array_unref(out);
        return NULL;
    }
    return out;
}

static int
nc_contract_nested_notice(NcMarket *m, const char *contract, int64_t until, GError **err)
{
    g_autoptr(GPtrArray) nested = nc_contract_nested(m, contract, "'active'", err);
    if (!nested)
        return -1;
    for (guint i = 0; i < nested->len; i += 2)
        if (nc_contract_transition(m, g_ptr_array_index(nested, i), NC_CONTRACT_ACTIVE,
                                   NC_CONTRACT_NOTICE, "upstream notice", until, err) < 0)
            return -1;
    return 0;
}

static int
nc_contract_upstream_ended(NcMarket *m, const char *contract, GError **err)
{
    g_autoptr(GPtrArray) nested = nc_contract_nested(m, contract,
                                                     "'requested', 'agreed', 'active', 'notice'",
                                                     err);
    if (!nested)
        return -1;
    for (guint i = 0; i < nested->len; i += 2) {
        NcContractState s = nc_contract_state_from_name(g_ptr_array_index(nested, i + 1));
        if (nc_contract_transition(m, g_ptr_array_index(nested, i), s, NC_CONTRACT_ENDED,
                                   "upstream ended", 0, err) < 0)
            return -1;
    }
    int64_t now = nc_now_ms();
    if (nc_store_exec(m->store, err,
                      "UPDATE offers SET state = 'withdrawn', updated_at = $2 WHERE state ="
                      " 'active' AND backend IN (SELECT b.id FROM backends b JOIN allocations a"
                      " ON a.id = b.upstream_allocation WHERE a.contract = $1)",
                      NC_TEXT(contract), NC_INT(now), NC_END) < 0 ||
        nc_store_exec(m->store, err,
                      "UPDATE backends SET removed_at = $2, state = 'down', state_since = $2,"
                      " last_error = 'its upstream allocation ended' WHERE removed_at IS NULL"
                      " AND upstream_allocation IN (SELECT id FROM allocations WHERE"
                      " contract = $1)", NC_TEXT(contract), NC_INT(now), NC_END) < 0)
        return -1;
    return 0;
}

int
nc_market_contract_end_internal(NcMarket *m, const char *id, const char *reason, GError **err)
{
    g_autoptr(NcRows) r = nc_store_query(m->store, err, "SELECT state FROM contracts WHERE id = $1",
                                         NC_TEXT(id), NC_END);
    if (!r || !nc_rows_next(r, err))
        return -1;
    NcContractState s = nc_contract_state_from_name(nc_rows_text(r, 0));
    g_clear_pointer(&r, nc_rows_free);
    if (s == NC_CONTRACT_ENDED)
        return 0;
    return nc_contract_transition(m, id, s, NC_CONTRACT_ENDED, reason, 0, err);
}

int
nc_market_contracts_offer_gone(NcMarket *m, const char *offer, const char *reason, GError **err)
{
    g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func(g_free);
    {
        g_autoptr(NcRows) r = nc_store_query(m->store, err,
                                             "SELECT id, state FROM contracts WHERE offer = $1"
                                             " AND state IN ('requested', 'agreed', 'active')",
                                             NC_TEXT(offer), NC_END);
        if (!r)
            return -1;
        while (nc_rows_next(r, err)) {
            g_ptr_array_add(list, nc_rows_dup(r, 0));
            g_ptr_array_add(list, nc_rows_dup(r, 1));
        }
        if (*err)
            return -1;
    }
    int64_t until = nc_now_ms() + m->cfg.notice_ms;
    for (guint i = 0; i < list->len; i += 2) {
        const char *id = g_ptr_array_index(list, i);
        NcContractState s = nc_contract_state_from_name(g_ptr_array_index(list, i + 1));
        int rc = s == NC_CONTRACT_ACTIVE
                 ? nc_contract_transition(m, id, s, NC_CONTRACT_NOTICE, reason, until, err)
                 : nc_contract_transition(m, id, s, NC_CONTRACT_ENDED, reason, 0, err);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* ---- reading ---- */

#define NC_CONTRACT_COLS \
    "c.id, c.offer, c.consumer, c.provider, c.state, c.max_price, c.units, c.price, c.config," \
    " c.terms, c.end_reason, c.notice_until, c.notice_reason, c.created_at, c.updated_at," \
    " c.agreed_at, c.activated_at, c.ended_at, o.name, o.kind, o.pricing, uc.name, up.company"
#define NC_CONTRACT_FROM \
    " FROM contracts c JOIN offers o ON o.id = c.offer JOIN users uc ON uc.id = c.consumer" \
    " JOIN users up ON up.id = c.provider"

static json_t *
nc_contract_row(NcRows *r, const char *viewer)
{
    bool consumer = g_strcmp0(viewer, nc_rows_text(r, 2)) == 0;
    json_error_t jerr;
    json_t *terms = nc_rows_text(r, 9) ? json_loads(nc_rows_text(r, 9), 0, &jerr) : NULL;
    json_t *c = json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s}, s:{s:s, s:s}, s:{s:s, s:o},"
                          " s:s, s:o, s:I, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o,"
                          " s:o}",
                          "id", nc_rows_text(r, 0), "role", consumer ? "consumer" : "provider",
                          "offer", "id", nc_rows_text(r, 1), "name", nc_rows_text(r, 18),
                          "kind", nc_rows_text(r, 19), "pricing", nc_rows_text(r, 20),
                          "consumer", "id", nc_rows_text(r, 2), "name", nc_rows_text(r, 21),
                          "provider", "id", nc_rows_text(r, 3),
                          "company", nc_market_col_json(r, 22),
                          "state", nc_rows_text(r, 4),
                          "max_price", nc_market_price_json(nc_rows_int(r, 5)),
                          "units", (json_int_t)nc_rows_int(r, 6),
                          "price", nc_rows_is_null(r, 7) ? json_null()
                                                         : nc_market_price_json(nc_rows_int(r, 7)),
                          "currency", NC_MARKET_CURRENCY,
                          "terms", terms ? terms : json_null(),
                          "end_reason", nc_market_col_json(r, 10),
                          "notice_until", nc_market_time_json(nc_rows_int(r, 11)),
                          "notice_reason", nc_market_col_json(r, 12),
                          "created_at", nc_market_time_json(nc_rows_int(r, 13)),
                          "updated_at", nc_market_time_json(nc_rows_int(r, 14)),
                          "agreed_at", nc_market_time_json(nc_rows_int(r, 15)),
                          "activated_at", nc_market_time_json(nc_rows_int(r, 16)),
                          "ended_at", nc_market_time_json(nc_rows_int(r, 17)));
    if (consumer) {
        json_t *config = json_loads(nc_rows_text(r, 8), 0, &jerr);
        json_object_set_new(c, "config", config ? config : json_object());
    }
    return c;
}

/* Adds the allocation and the cost so far; needs the cursor closed. */
static void
nc_contract_decorate(NcMarket *m, json_t *c)
{
    const char *id = nc_json_str(c, "id");
    bool consumer = g_strcmp0(nc_json_str(c, "role"), "consumer") == 0;
    json_t *alloc = nc_market_allocation_of_contract(m, id);
    if (!consumer && json_is_object(alloc)) {
        /* the provider sees that it runs, not how to reach it */
        json_t *slim = json_pack("{s:O, s:O}", "id", json_object_get(alloc, "id"),
                                 "state", json_object_get(alloc, "state"));
        json_decref(alloc);
        alloc = slim;
    }
    json_object_set_new(c, "allocation", alloc);
    int64_t cost = nc_market_meter_total(m, id, nc_now_ms() / 1000, NULL);
    json_object_set_new(c, "cost_to_date", nc_market_price_json(MAX(cost, 0)));
}

json_t *
nc_market_contract_get(NcMarket *m, const NcMarketCaller *caller, const char *id, GError **err)
{
    json_t *c;
    {
        g_autoptr(NcRows) r = nc_store_query(m->store, err,
                                             "SELECT " NC_CONTRACT_COLS NC_CONTRACT_FROM
                                             " WHERE c.id = $1 AND (c.consumer = $2 OR"
                                             " c.provider = $2)",
                                             NC_TEXT(id), NC_TEXT(caller->user_id), NC_END);
        if (!r)
            return NULL;
        if (!nc_rows_next(r, err)) {
            nc_error_set(err, NC_ERR_NOT_FOUND, "you have no contract %.40s", id);
            return NULL;
        }
        c = nc_contract_row(r, caller->user_id);
    }
    nc_contract_decorate(m, c);
    g_autoptr(NcRows) r = nc_store_query(m->store, err,
                                         "SELECT time, from_state, to_state, reason FROM"
                                         " contract_log WHERE contract = $1 ORDER BY id",
                                         NC_TEXT(id), NC_END);
    json_t *log = json_array();
    while (r && nc_rows_next(r, NULL))
        json_array_append_new(log, json_pack("{s:o, s:o, s:s, s:s}", "time",
                                             nc_market_time_json(nc_rows_int(r, 0)), "from",
                                             nc_market_col_json(r, 1), "to", nc_rows_text(r, 2),
                                             "reason", nc_rows_text(r, 3)));
    json_object_set_new(c, "log", log);
    return c;
}

json_t *
nc_market_contract_list(NcMarket *m, const NcMarketCaller *caller, const char *role,
                        const char *state, int64_t limit, int64_t offset, GError **err)
{
    const char *col = g_strcmp0(role, "provider") == 0 ? "c.provider" : "c.consumer";
    if (role && strcmp(role, "provider") != 0 && strcmp(role, "consumer") != 0) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "role must be consumer or provider");
        return NULL;
    }
    if (state && nc_contract_state_from_name(state) == NC_CONTRACT_STATE_MAX &&
        strcmp(state, "open") != 0) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "state must be one of requested, agreed, "
                     "active, notice, ended, open");
        return NULL;
    }
    g_autofree char *sql = g_strdup_printf(
        "SELECT " NC_CONTRACT_COLS NC_CONTRACT_FROM " WHERE %s = $1 AND"
        " ($2 = '' OR c.state = $2 OR ($2 = 'open' AND c.state <> 'ended'))"
        " ORDER BY c.created_at DESC, c.id LIMIT $3 OFFSET $4", col);
    json_t *list = json_array();
    {
        g_autoptr(NcRows) r = nc_store_query(m->store, err, sql, NC_TEXT(caller->user_id),
                                             NC_TEXT(state ? state : ""), NC_INT(limit),
                                             NC_INT(offset), NC_END);
        if (!r) {
            json_decref(list);
            return NULL;
        }
        while (nc_rows_next(r, err))
            json_array_append_new(list, nc_contract_row(r, caller->user_id));
        if (*err) {
            json_decref(list);
            return NULL;
        }
    }
    size_t i;
    json_t *c;
    json_array_foreach(list, i, c)
        nc_contract_decorate(m, c);
    return json_pack("{s:o}", "contracts", list);
}

/* ---- requests and decisions ---- */

static json_t *
nc_contract_config(json_t *in, const char *kind, GError **err)
{
    json_t *out = json_object();
    if (!in || json_is_null(in))
        return out;
    static const char *const keys[] = { "ssh_keys", "user_data", "hostname", "start", NULL };
    if (!json_is_object(in)) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "config must be an object");
        goto fail;
    }
    if (strcmp(kind, "compute") != 0 && json_object_size(in) > 0) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "a storage contract takes no config");
        goto fail;
    }
    if (nc_json_check_keys(in, "config", keys, err) < 0)
        goto fail;
    json_t *keys_in = json_object_get(in, "ssh_keys");
    if (keys_in && !json_is_null(keys_in)) {
        if (!json_is_array(keys_in) || json_array_size(keys_in) > 32) {
            nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "ssh_keys is a list of at most 32 keys");
            goto fail;
        }
        size_t i;
        json_t *k;
        json_array_foreach(keys_in, i, k) {
            if (!json_is_string(k) || nc_ssh_key_check(json_string_value(k), err) < 0) {
                nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "ssh_keys holds something that is "
                             "not an OpenSSH public key");
                goto fail;
            }
        }
        json_object_set(out, "ssh_keys", keys_in);
    }
    const char *user_data = NULL, *hostname = NULL;
    bool start = false;
    if (nc_json_get_string(in, "user_data", false, 32 * 1024, &user_data, err) < 0 ||
        nc_json_get_string(in, "hostname", false, 63, &hostname, err) < 0 ||
        nc_json_get_bool(in, "start", false, &start, err) < 0)
        goto fail;
    if (user_data) {
        if (nc_text_check("user_data", user_data, 32 * 1024, true, err) < 0)
            goto fail;
        json_object_set_new(out, "user_data", json_string(user_data));
    }
    if (hostname) {
        if (nc_name_check("hostname", hostname, err) < 0)
            goto fail;
        json_object_set_new(out, "hostname", json_string(hostname));
    }
    json_object_set_new(out, "start", json_boolean(start));
    return out;
fail:
    json_decref(out);
    return NULL;
}

json_t *
nc_market_contract_request(NcMarket *m, const NcMarketCaller *caller, json_t *body, GError **err)
{
    static const char *const keys[] = { "offer", "max_price", "units", "config", NULL };
    const char *offer = NULL;
    int64_t units = 1, max_price = -1;
    if (nc_json_check_keys(body, "a contract request", keys, err) < 0 ||
        nc_json_get_string(body, "offer", true, 36, &offer, err) < 0 ||
        nc_json_get_int(body, "units", false, 1, NC_MARKET_UNITS_MAX, &units, err) < 0)
        return NULL;
    json_t *mp = json_object_get(body, "max_price");
    if (mp && !json_is_null(mp) && nc_market_price_parse("max_price", mp, false, &max_price,
                                                         err) < 0)
        return NULL;
    if (!nc_uuid_is_valid(offer)) {
        nc_error_set(err, NC_ERR_NOT_FOUND, "no offer %.40s in the catalogue", offer);
        return NULL;
    }
    g_autofree char *provider = NULL;
    g_autofree char *kind = NULL;
    g_autofree char *pricing = NULL;
    int64_t slots, reserve, auto_accept, promise, vcpus, memory, disk, storage;
    {
        g_autoptr(NcRows) r = nc_store_query(m->store, err,
                                             "SELECT provider, kind, pricing, slots, reserve,"
                                             " auto_accept, availability_promise, vcpus,"
                                             " memory_mib, disk_gib, storage_gib FROM offers"
                                             " WHERE id = $1 AND state = 'active'",
                                             NC_TEXT(offer), NC_END);
        if (!r)
            return NULL;
        if (!nc_rows_next(r, err)) {
            nc_error_set(err, NC_ERR_NOT_FOUND, "no offer %.40s in the catalogue", offer);
            return NULL;
        }
        provider = nc_rows_dup(r, 0);
        kind = nc_rows_dup(r, 1);
        pricing = nc_rows_dup(r, 2);
        slots = nc_rows_int(r, 3);
        reserve = nc_rows_int(r, 4);
        auto_accept = nc_rows_int(r, 5);
        promise = nc_rows_int(r, 6);
        vcpus = nc_rows_int(r, 7);
        memory = nc_rows_int(r, 8);
        disk = nc_rows_int(r, 9);
        storage = nc_rows_int(r, 10);
    }
    if (strcmp(provider, caller->user_id) == 0) {
        nc_error_set(err, NC_ERR_UNPROCESSABLE, "this is your own offer; you cannot buy it");
        return NULL;
    }
    if (units > slots) {
        nc_error_set(err, NC_ERR_UNPROCESSABLE, "the offer has %" G_GINT64_FORMAT " slots; "
                     "you asked for %" G_GINT64_FORMAT, slots, units);
        return NULL;
    }
    if (strcmp(pricing, "fixed") == 0) {
        if (max_price >= 0 && max_price < reserve) {
            nc_error_set(err, NC_ERR_UNPROCESSABLE, "the offer's fixed price is above your "
                         "max_price");
            return NULL;
        }
        max_price = reserve;
    } else if (max_price < 0) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "field 'max_price' is required for a spot "
                     "offer: the most you pay per slot-hour");
        return NULL;
    } else if (max_price < reserve) {
        g_autoptr(json_t) rj = nc_market_price_json(reserve);
        g_autofree char *rs = nc_json_dumps(rj);
        nc_error_set(err, NC_ERR_UNPROCESSABLE, "max_price is below the offer's reserve price "
                     "of %s %s per slot-hour", rs, NC_MARKET_CURRENCY);
        return NULL;
    }
    g_autoptr(json_t) config = nc_contract_config(json_object_get(body, "config"), kind, err);
    if (!config)
        return NULL;
    int64_t open = nc_market_count(m->store, err,
                                   "SELECT COUNT(*) FROM contracts WHERE consumer = $1"
                                   " AND state <> 'ended'", NC_TEXT(caller->user_id), NC_END);
    if (open < 0)
        return NULL;
    if (open >= NC_MARKET_OPEN_CONTRACTS_PER_USER) {
        nc_error_set(err, NC_ERR_QUOTA_EXCEEDED, "you have %d open contracts, the most allowed",
                     NC_MARKET_OPEN_CONTRACTS_PER_USER);
        return NULL;
    }
    g_autoptr(json_t) terms = json_pack("{s:s, s:s, s:o, s:I, s:I, s:I, s:I, s:I, s:f, s:I,"
                                        " s:I, s:s, s:s}",
                                        "kind", kind, "pricing", pricing,
                                        "reserve_price", nc_market_price_json(reserve),
                                        "vcpus", (json_int_t)(vcpus * units),
                                        "memory_mib", (json_int_t)(memory * units),
                                        "disk_gib", (json_int_t)disk,
                                        "storage_gib", (json_int_t)(storage * units),
                                        "units", (json_int_t)units,
                                        "availability_promise", promise / 10.0,
                                        "notice_s", (json_int_t)(m->cfg.notice_ms / 1000),
                                        "clearing_interval_s",
                                        (json_int_t)(m->cfg.clearing_interval_ms / 1000),
                                        "billing", "per second at the price in force",
                                        "currency", NC_MARKET_CURRENCY);
    g_autofree char *terms_text = nc_json_dumps(terms);
    g_autofree char *config_text = nc_json_dumps(config);
    g_autofree char *id = nc_uuid_new();
    int64_t now = nc_now_ms();
    {
        g_auto(NcStoreTxn) txn = { 0 };
        if (nc_store_txn_begin(&txn, m->store, err) < 0)
            return NULL;
        if (nc_store_exec(m->store, err,
                          "INSERT INTO contracts (id, offer, consumer, provider, state, max_price,"
                          " units, config, terms, created_at, updated_at)"
                          " VALUES ($1,$2,$3,$4,'requested',$5,$6,$7,$8,$9,$9)",
                          NC_TEXT(id), NC_TEXT(offer), NC_TEXT(caller->user_id),
                          NC_TEXT(provider), NC_INT(max_price), NC_INT(units),
                          NC_TEXT(config_text), NC_TEXT(terms_text), NC_INT(now), NC_END) < 0 ||
            nc_store_exec(m->store, err,
                          "INSERT INTO contract_log (contract, time, from_state, to_state, reason)"
                          " VALUES ($1,$2,NULL,'requested','requested by the consumer')",
                          NC_TEXT(id), NC_INT(now), NC_END) < 0)
            goto rollback;
        if (auto_accept &&
            nc_contract_transition(m, id, NC_CONTRACT_REQUESTED, NC_CONTRACT_AGREED,
                                   "accepted by the offer's auto-accept policy", 0, err) < 0)
            goto rollback;
        if (!auto_accept)
            nc_contract_queue_event("contract", caller->user_id, provider, NULL,
                                    json_pack("{s:s, s:s, s:o, s:s, s:s}", "id", id, "offer",
                                              offer, "from", json_null(), "state", "requested",
                                              "reason", "waiting for the provider's decision"));
        if (nc_store_txn_commit(&txn, err) < 0)
            goto rollback;
    }
    nc_market_contracts_flush_events(m);
    /* fixed prices need no auction: serve at once; spot bids wait for the interval */
    if (strcmp(pricing, "fixed") == 0)
        nc_market_poke(m);
    return nc_market_contract_get(m, caller, id, err);

rollback:
    nc_market_contracts_drop_events();
    return NULL;
}

/* Reads a contract's state for an actor: @as_provider picks the column. */
static int
nc_contract_state_for(NcMarket *m, const NcMarketCaller *caller, const char *id,
                      bool as_provider, NcContractState *ret_state, char **ret_pricing,
                      GError **err)
{
    g_autoptr(NcRows) r = nc_store_query(m->store, err,
                                         as_provider
                                         ? "SELECT c.state, o.pricing FROM contracts c JOIN offers"
                                           " o ON o.id = c.offer WHERE c.id = $1 AND"
                                           " c.provider = $2"
                                         : "SELECT c.state, o.pricing FROM contracts c JOIN offers"
                                           " o ON o.id = c.offer WHERE c.id = $1 AND"
                                           " c.consumer = $2",
                                         NC_TEXT(id), NC_TEXT(caller->user_id), NC_END);
    if (!r)
        return -1;
    if (!nc_rows_next(r, err)) {
        nc_error_set(err, NC_ERR_NOT_FOUND, "you have no contract %.40s%s", id,
                     as_provider ? " as its provider" : "");
        return -1;
    }
    *ret_state = nc_contract_state_from_name(nc_rows_text(r, 0));
    if (ret_pricing)
        *ret_pricing = nc_rows_dup(r, 1);
    return 0;
}

json_t *
nc_market_contract_decide(NcMarket *m, const NcMarketCaller *caller, const char *id, bool accept,
                          GError **err)
{
    NcContractState s;
    if (nc_contract_state_for(m, caller, id, true, &s, NULL, err) < 0)
        return NULL;
    if (s != NC_CONTRACT_REQUESTED) {
        nc_error_set(err, NC_ERR_CONFLICT, "the contract is %s; only requested contracts are "
                     "decided", nc_contract_state_name(s));
        return NULL;
    }
    {
        g_auto(NcStoreTxn) txn = { 0 };
        if (nc_store_txn_begin(&txn, m->store, err) < 0 ||
            nc_contract_transition(m, id, s, accept ? NC_CONTRACT_AGREED : NC_CONTRACT_ENDED,
                                   accept ? "accepted by the provider" : "rejected by the provider",
                                   0, err) < 0 ||
            nc_store_txn_commit(&txn, err) < 0) {
            nc_market_contracts_drop_events();
            return NULL;
        }
    }
    nc_market_contracts_flush_events(m);
    nc_market_poke(m);
    return nc_market_contract_get(m, caller, id, err);
}

json_t *
nc_market_contract_update(NcMarket *m, const NcMarketCaller *caller, const char *id, json_t *body,
                          GError **err)
{
    static const char *const keys[] = { "max_price", NULL };
    NcContractState s;
    g_autofree char *pricing = NULL;
    int64_t max_price = 0;
    if (nc_contract_state_for(m, caller, id, false, &s, &pricing, err) < 0 ||
        nc_json_check_keys(body, "a contract update", keys, err) < 0)
        return NULL;
    json_t *mp = json_object_get(body, "max_price");
    if (!mp || json_is_null(mp)) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "field 'max_price' is required");
        return NULL;
    }
    if (nc_market_price_parse("max_price", mp, false, &max_price, err) < 0)
        return NULL;
    if (strcmp(pricing, "spot") != 0) {
        nc_error_set(err, NC_ERR_CONFLICT, "a fixed-price contract has no bid to change");
        return NULL;
    }
    if (s == NC_CONTRACT_ENDED) {
        nc_error_set(err, NC_ERR_CONFLICT, "the contract has ended");
        return NULL;
    }
    if (nc_store_exec(m->store, err,
                      "UPDATE contracts SET max_price = $2, updated_at = $3 WHERE id = $1",
                      NC_TEXT(id), NC_INT(max_price), NC_INT(nc_now_ms()), NC_END) < 0)
        return NULL;
    return nc_market_contract_get(m, caller, id, err);
}

json_t *
nc_market_contract_end(NcMarket *m, const NcMarketCaller *caller, const char *id, GError **err)
{
    NcContractState s;
    if (nc_contract_state_for(m, caller, id, false, &s, NULL, err) < 0)
        return NULL;
    if (s == NC_CONTRACT_ENDED) {
        nc_error_set(err, NC_ERR_CONFLICT, "the contract has ended already");
        return NULL;
    }
    const char *reason = (s == NC_CONTRACT_ACTIVE || s == NC_CONTRACT_NOTICE)
                         ? "terminated by the consumer" : "cancelled by the consumer";
    {
        g_auto(NcStoreTxn) txn = { 0 };
        if (nc_store_txn_begin(&txn, m->store, err) < 0 ||
            nc_contract_transition(m, id, s, NC_CONTRACT_ENDED, reason, 0, err) < 0 ||
            nc_store_txn_commit(&txn, err) < 0) {
            nc_market_contracts_drop_events();
            return NULL;
        }
    }
    nc_market_contracts_flush_events(m);
    nc_market_poke(m);
    return nc_market_contract_get(m, caller, id, err);
}

/* ---- the clearing round ---- */

typedef struct {
    char *id;
    char *pricing;
    bool spot;             /* pricing is "spot" */
    int64_t slots, reserve, price;
    bool backend_up;
    int64_t interruptions;
    /* its contracts: order[first .. first + count) indexes the contract
     * array, oldest first */
    guint first, count;
    /* the outcome, written in batches after every offer is applied */
    int64_t new_price, bids, winners, filled;
} NcClrOffer;

typedef struct {
    const char *id;        /* in the round's string chunk */
    guint offer;
    NcContractState state;
    int64_t max_price, units, created, price;
    bool outbid_notice;    /* in notice because outbid: may win back */
    int bid;               /* index into the bids, or -1 */
} NcClrContract;

static void
nc_clr_offer_clear(NcClrOffer *o)
{
    g_free(o->id);
    g_free(o->pricing);
}

/* Offer ids are UUIDs, random in every character: a hash of their first
 * sixteen bytes is as good as one of all 36, at less than half the work
 * (the round looks one up for each of its 100,000 contracts). */
static guint
nc_clr_id_hash(gconstpointer key)
{
    const unsigned char *p = key;
    guint h = 5381;
    for (int i = 0; i < 16 && p[i]; i++)
        h = h * 33 + p[i];
    return h;
}

/* The three states an open contract can have, without a string search. */
static NcContractState
nc_clr_state(const char *name)
{
    if (name) {
        if (name[0] == 'a' && strcmp(name, "active") == 0)
            return NC_CONTRACT_ACTIVE;
        if (name[0] == 'a' && strcmp(name, "agreed") == 0)
            return NC_CONTRACT_AGREED;
        if (name[0] == 'n' && strcmp(name, "notice") == 0)
            return NC_CONTRACT_NOTICE;
    }
    return nc_contract_state_from_name(name);
}

/* Loads the active offers and their open contracts; @ret_order gets each
 * offer's contracts as ranges of one array (see NcClrOffer), made by
 * counting rather than by growing a list per offer.  Free it with g_free(). */
static int
nc_clr_load(NcMarket *m, GArray *offers, GArray *contracts, GStringChunk *ids,
            guint **ret_order, GError **err)
{
    g_autoptr(GHashTable) index = g_hash_table_new(nc_clr_id_hash, g_str_equal);
    {
        g_autoptr(NcRows) r = nc_store_query(m->store, err,
                                             "SELECT o.id, o.pricing, o.slots, o.reserve, o.price,"
                                             " b.state, b.interruptions, b.removed_at FROM offers o"
                                             " JOIN backends b ON b.id = o.backend"
                                             " WHERE o.state = 'active' ORDER BY o.id", NC_END);
        if (!r)
            return -1;
        while (nc_rows_next(r, err)) {
            NcClrOffer o = {
                .id = nc_rows_dup(r, 0), .pricing = nc_rows_dup(r, 1),
                .spot = g_strcmp0(nc_rows_text(r, 1), "spot") == 0,
                .slots = nc_rows_int(r, 2), .reserve = nc_rows_int(r, 3),
                .price = nc_rows_int(r, 4),
                .backend_up = g_strcmp0(nc_rows_text(r, 5), "up") == 0 && nc_rows_is_null(r, 7),
                .interruptions = nc_rows_int(r, 6),
            };
            g_array_append_val(offers, o);
            g_hash_table_insert(index, g_array_index(offers, NcClrOffer, offers->len - 1).id,
                                GUINT_TO_POINTER(offers->len));
        }
        if (*err)
            return -1;
    }
    g_autoptr(NcRows) r = nc_store_query(m->store, err,
                                         /* contracts_open covers every column: one walk
                                          * of the index in clearing order, no table
                                          * lookups; the offers above are the active ones */
                                         "SELECT c.id, c.offer, c.state, c.max_price, c.units,"
                                         " c.created_at, c.notice_reason, COALESCE(c.price, -1)"
                                         " FROM contracts c"
                                         " WHERE c.state IN ('agreed', 'active', 'notice')"
                                         " ORDER BY c.created_at, c.id", NC_END);
    if (!r)
        return -1;
    while (nc_rows_next(r, err)) {
        guint oi = GPOINTER_TO_UINT(g_hash_table_lookup(index, nc_rows_text(r, 1)));
        if (!oi)
            continue;
        const char *reason = nc_rows_text(r, 6);
        NcClrContract c = {
            .id = g_string_chunk_insert(ids, nc_rows_text(r, 0)), .offer = oi - 1,
            .state = nc_clr_state(nc_rows_text(r, 2)),
            .max_price = nc_rows_int(r, 3), .units = nc_rows_int(r, 4),
            .created = nc_rows_int(r, 5),
            .outbid_notice = reason && strcmp(reason, "outbid") == 0,
            .price = nc_rows_int(r, 7),    /* -1: none yet */
            .bid = -1,
        };
        g_array_append_val(contracts, c);
        g_array_index(offers, NcClrOffer, oi - 1).count++;
    }
    if (*err)
        return -1;
    guint next = 0;
    for (guint i = 0; i < offers->len; i++) {
        NcClrOffer *o = &g_array_index(offers, NcClrOffer, i);
        o->first = next;
        next += o->count;
        o->count = 0;
    }
    guint *order = g_new(guint, MAX(contracts->len, 1));
    for (guint ci = 0; ci < contracts->len; ci++) {
        NcClrOffer *o = &g_array_index(offers, NcClrOffer,
                                       g_array_index(contracts, NcClrContract, ci).offer);
        order[o->first + o->count++] = ci;
    }
    *ret_order = order;
    return 0;
}

/* Orders agreed winners: the highest bid first, then the oldest. */
static int
nc_clr_winner_cmp(gconstpointer a, gconstpointer b, gpointer data)
{
    const NcClrContract *all = data;
    const NcClrContract *x = &all[*(const guint *)a], *y = &all[*(const guint *)b];
    if (x->max_price != y->max_price)
        return x->max_price > y->max_price ? -1 : 1;
    return (x->created > y->created) - (x->created < y->created);
}

/* Applies one offer's outcome to its contracts (state changes, the price in
 * force, meters) and queues its price event; the offer's own row and its
 * price-history point are left in @o for nc_clr_write_offers(). */
static int
nc_clr_apply_offer(NcMarket *m, NcClrOffer *o, NcClrContract *all, const guint *order,
                   const NcAuctionResult *res, const bool *won, int64_t now,
                   const char *now_text, GArray *waiting, GError **err)
{
    const guint *mine = order + o->first;
    bool spot = o->spot;
    int64_t price = spot ? res->price : o->reserve;
    int64_t until = now + m->cfg.notice_ms;
    g_array_set_size(waiting, 0);

    for (guint k = 0; k < o->count; k++) {
        guint ci = mine[k];
        NcClrContract *c = &all[ci];
        bool win = spot ? (c->bid >= 0 && won[c->bid]) : true;
        if (c->state == NC_CONTRACT_ACTIVE && !win) {
            int moved = nc_contract_transition_if(m, c->id, c->state, NC_CONTRACT_NOTICE,
                                                  "outbid", until, err);
            if (moved < 0)
                return -1;
            if (moved) {
                c->state = NC_CONTRACT_NOTICE;
                c->outbid_notice = true;
            }
        } else if (c->state == NC_CONTRACT_NOTICE && c->outbid_notice && win) {
            int moved = nc_contract_transition_if(m, c->id, c->state, NC_CONTRACT_ACTIVE,
                                                  "won its slot back before the notice ran out",
                                                  0, err);
            if (moved < 0)
                return -1;
            if (moved)
                c->state = NC_CONTRACT_ACTIVE;
        } else if (c->state == NC_CONTRACT_AGREED && win) {
            g_array_append_val(waiting, ci);
        }
    }
    int64_t held = 0;
    for (guint k = 0; k < o->count; k++) {
        NcClrContract *c = &all[mine[k]];
        if (c->state == NC_CONTRACT_ACTIVE || c->state == NC_CONTRACT_NOTICE)
            held += c->units;
    }
    if (spot && o->backend_up)
        g_array_sort_with_data(waiting, nc_clr_winner_cmp, all);
    int64_t free_slots = o->slots - held;
    for (guint k = 0; k < waiting->len && o->backend_up; k++) {
        NcClrContract *c = &all[g_array_index(waiting, guint, k)];
        if (c->units > free_slots)
            continue;
        g_autoptr(json_t) pj = nc_market_price_json(price);
        g_autofree char *ps = nc_json_dumps(pj);
        g_autofree char *why = spot ? g_strdup_printf("won the clearing at %s %s per slot-hour",
                                                      ps, NC_MARKET_CURRENCY)
                                    : g_strdup("a slot was free at the fixed price");
        int moved = nc_contract_transition_if(m, c->id, c->state, NC_CONTRACT_ACTIVE, why, 0,
                                              err);
        if (moved < 0)
            return -1;
        if (!moved)
            continue;
        c->state = NC_CONTRACT_ACTIVE;
        free_slots -= c->units;
        held += c->units;
    }
    /* the price in force for every holder, and its meter */
    for (guint k = 0; k < o->count; k++) {
        NcClrContract *c = &all[mine[k]];
        if (c->state != NC_CONTRACT_ACTIVE && c->state != NC_CONTRACT_NOTICE)
            continue;
        int64_t eff = nc_contract_effective_price(o->pricing, price, c->max_price);
        if (eff == c->price)
            continue;
        if (nc_store_exec(m->store, err, "UPDATE contracts SET price = $2 WHERE id = $1",
                          NC_TEXT(c->id), NC_INT(eff), NC_END) < 0 ||
            nc_market_meter_reprice(m, c->id, eff, c->units, now / 1000, err) < 0)
            return -1;
        c->price = eff;
    }
    int64_t bids = o->count;
    int64_t winners = spot ? res->winners : 0;
    if (!spot)
        for (guint k = 0; k < o->count; k++)
            winners += all[mine[k]].state != NC_CONTRACT_AGREED;
    o->new_price = price;
    o->bids = bids;
    o->winners = winners;
    o->filled = held;
    nc_contract_queue_event("price", NULL, NULL, o->id,
                            json_pack("{s:s, s:o, s:s, s:I, s:I, s:I, s:I, s:b, s:I}",
                                      "offer", o->id, "price", nc_market_price_json(price),
                                      "timestamp", now_text, "bids", (json_int_t)bids,
                                      "winners", (json_int_t)winners,
                                      "filled", (json_int_t)held, "slots", (json_int_t)o->slots,
                                      "backend_up", o->backend_up,
                                      "interruptions", (json_int_t)o->interruptions));
    return 0;
}

/* Rows per statement when the round writes its offers and price points:
 * one statement per batch rather than per row (9 values a row: 576 bound
 * values, far below any driver's limit). */
#define NC_CLR_BATCH 64

/* Runs @sql_head followed by @rows groups of "($k, ...)" of @width values
 * each, bound from @vals (rows * width values, and room for one more: the
 * end mark goes there); @sql_tail follows. */
static int
nc_clr_exec_batch(NcMarket *m, const char *sql_head, const char *sql_tail, guint rows,
                  guint width, NcVal *vals, GError **err)
{
    g_autoptr(GString) sql = g_string_new(sql_head);
    guint n = 0;
    for (guint i = 0; i < rows; i++) {
        g_string_append(sql, i ? ",(" : "(");
        for (guint k = 0; k < width; k++)
            g_string_append_printf(sql, k ? ",$%u" : "$%u", ++n);
        g_string_append_c(sql, ')');
    }
    g_string_append(sql, sql_tail);
    vals[rows * width] = NC_END;
    return nc__store_exec(m->store, sql->str, vals, err) < 0 ? -1 : 0;
}

/* Writes every offer's clearing: its price where it changed, the time it was
 * cleared, and a price-history point; in batches of NC_CLR_BATCH rows. */
static int
nc_clr_write_offers(NcMarket *m, GArray *offers, int64_t now, GError **err)
{
    g_autofree NcVal *vals = g_new(NcVal, NC_CLR_BATCH * 9 + 1);
    for (guint i = 0; i < offers->len; i++) {
        NcClrOffer *o = &g_array_index(offers, NcClrOffer, i);
        if (o->new_price != o->price &&
            nc_store_exec(m->store, err, "UPDATE offers SET price = $2 WHERE id = $1",
                          NC_TEXT(o->id), NC_INT(o->new_price), NC_END) < 0)
            return -1;
    }
    for (guint start = 0; start < offers->len; start += NC_CLR_BATCH) {
        guint rows = MIN(NC_CLR_BATCH, offers->len - start);
        vals[0] = NC_INT(now);
        for (guint i = 0; i < rows; i++)
            vals[1 + i] = NC_TEXT(g_array_index(offers, NcClrOffer, start + i).id);
        /* "($1)" groups: turned into an IN list below */
        g_autoptr(GString) sql = g_string_new("UPDATE offers SET cleared_at = $1 WHERE id IN (");
        for (guint i = 0; i < rows; i++)
            g_string_append_printf(sql, i ? ",$%u" : "$%u", i + 2);
        g_string_append_c(sql, ')');
        vals[1 + rows] = NC_END;
        if (nc__store_exec(m->store, sql->str, vals, err) < 0)
            return -1;
        for (guint i = 0; i < rows; i++) {
            NcClrOffer *o = &g_array_index(offers, NcClrOffer, start + i);
            NcVal *v = &vals[i * 9];
            v[0] = NC_TEXT(o->id);
            v[1] = NC_INT(now);
            v[2] = NC_INT(o->new_price);
            v[3] = NC_INT(o->bids);
            v[4] = NC_INT(o->winners);
            v[5] = NC_INT(o->filled);
            v[6] = NC_INT(o->slots);
            v[7] = NC_INT(o->backend_up);
            v[8] = NC_INT(o->interruptions);
        }
        if (nc_clr_exec_batch(m, "INSERT INTO price_history (offer, time, price, bids, winners,"
                              " filled, slots, backend_up, interruptions) VALUES ", "", rows, 9,
                              vals, err) < 0)
            return -1;
    }
    return 0;
}

/* The last round's sizes: the next one is most likely as large, and growing
 * an array of 100,000 contracts by doubling copies it over and over. */
static gint nc_clr_offers_hint, nc_clr_contracts_hint;

int
nc_market_clear_round(NcMarket *m, GError **err)
{
    g_autoptr(GArray) offers = g_array_sized_new(FALSE, TRUE, sizeof(NcClrOffer),
                                                 (guint)g_atomic_int_get(&nc_clr_offers_hint));
    g_autoptr(GArray) contracts = g_array_sized_new(FALSE, TRUE, sizeof(NcClrContract),
                                                    (guint)g_atomic_int_get(
                                                        &nc_clr_contracts_hint));
    g_autoptr(GStringChunk) ids = g_string_chunk_new(64 * 1024);
    g_autofree guint *order = NULL;
    g_array_set_clear_func(offers, (GDestroyNotify)nc_clr_offer_clear);
    if (nc_clr_load(m, offers, contracts, ids, &order, err) < 0)
        return -1;
    g_atomic_int_set(&nc_clr_offers_hint, (gint)MIN(offers->len, G_MAXINT / 2));
    g_atomic_int_set(&nc_clr_contracts_hint, (gint)MIN(contracts->len, G_MAXINT / 2));

    NcClrContract *all = (NcClrContract *)(void *)contracts->data;
    g_autofree NcAuctionOffer *aoffers = g_new0(NcAuctionOffer, MAX(offers->len, 1));
    g_autofree NcAuctionBid *bids = g_new0(NcAuctionBid, MAX(contracts->len, 1));
    g_autofree NcAuctionResult *results = g_new0(NcAuctionResult, MAX(offers->len, 1));
    g_autofree bool *won = g_new0(bool, MAX(contracts->len, 1));
    size_t nbids = 0;
    for (guint i = 0; i < offers->len; i++) {
        NcClrOffer *o = &g_array_index(offers, NcClrOffer, i);
        aoffers[i] = (NcAuctionOffer){ .reserve = o->reserve, .slots = (int32_t)o->slots };
    }
    for (guint i = 0; i < contracts->len; i++) {
        NcClrContract *c = &all[i];
        NcClrOffer *o = &g_array_index(offers, NcClrOffer, c->offer);
        bool bidding = c->state == NC_CONTRACT_AGREED || c->state == NC_CONTRACT_ACTIVE ||
                       (c->state == NC_CONTRACT_NOTICE && c->outbid_notice);
        if (!o->spot || !bidding)
            continue;
        bool holder = c->state != NC_CONTRACT_AGREED;
        c->bid = (int)nbids;
        bids[nbids++] = (NcAuctionBid){
            .offer = c->offer, .units = (int32_t)c->units, .max_price = c->max_price,
            .rank = ((int64_t)!holder << 62) | c->created,
        };
    }
    if (nc_auction_clear(aoffers, offers->len, bids, nbids, results, won, err) < 0)
        return -1;

    int64_t now = nc_now_ms();
    g_autofree char *now_text = nc_time_format(now);
    g_autoptr(GArray) waiting = g_array_new(FALSE, FALSE, sizeof(guint));
    {
        g_auto(NcStoreTxn) txn = { 0 };
        if (nc_store_txn_begin(&txn, m->store, err) < 0)
            return -1;
        for (guint i = 0; i < offers->len; i++) {
            if (nc_clr_apply_offer(m, &g_array_index(offers, NcClrOffer, i), all, order,
                                   &results[i], won, now, now_text, waiting, err) < 0) {
                nc_market_contracts_drop_events();
                return -1;
            }
        }
        if (nc_clr_write_offers(m, offers, now, err) < 0 ||
            nc_store_txn_commit(&txn, err) < 0) {
            nc_market_contracts_drop_events();
            return -1;
        }
    }
    nc_market_contracts_flush_events(m);
    return 0;
}

int
nc_market_notices_expire(NcMarket *m, GError **err)
{
    g_autoptr(GPtrArray) due = g_ptr_array_new_with_free_func(g_free);
    {
        g_autoptr(NcRows) r = nc_store_query(m->store, err,
                                             "SELECT id, notice_reason FROM contracts WHERE"
                                             " state = 'notice' AND notice_until <= $1",
                                             NC_INT(nc_now_ms()), NC_END);
        if (!r)
            return -1;
        while (nc_rows_next(r, err)) {
            g_ptr_array_add(due, nc_rows_dup(r, 0));
            g_ptr_array_add(due, nc_rows_dup(r, 1));
        }
        if (*err)
            return -1;
    }
    if (!due->len)
        return 0;
    {
        g_auto(NcStoreTxn) txn = { 0 };
        if (nc_store_txn_begin(&txn, m->store, err) < 0)
            return -1;
        for (guint i = 0; i < due->len; i += 2) {
            const char *why = g_ptr_array_index(due, i + 1);
            g_autofree char *reason = g_strdup_printf("%s: the notice ran out",
                                                      why ? why : "notice");
            /* ending an upstream contract may have ended this one already */
            if (nc_contract_transition_if(m, g_ptr_array_index(due, i), NC_CONTRACT_NOTICE,
                                          NC_CONTRACT_ENDED, reason, 0, err) < 0) {
                nc_market_contracts_drop_events();
                return -1;
            }
        }
        if (nc_store_txn_commit(&txn, err) < 0) {
            nc_market_contracts_drop_events();
            return -1;
        }
    }
    nc_market_contracts_flush_events(m);
    return (int)(due->len / 2);
}
