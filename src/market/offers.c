/* offers.c: offers, the registry's search, price history. */
#include "offers.h"
#include "accounts.h"
#include "backends.h"
#include "contracts.h"
#include "market_valid.h"
#include "util/nc_error.h"
#include "util/nc_json.h"
#include "util/nc_time.h"
#include "util/nc_valid.h"

#include <math.h>
#include <string.h>

#define NC_OFFER_COLS \
    "o.id, o.provider, o.backend, o.kind, o.name, o.description, o.vcpus, o.memory_mib," \
    " o.disk_gib, o.storage_gib, o.image, o.slots, o.reserve, o.pricing, o.auto_accept," \
    " o.availability_promise, o.state, o.price, o.cleared_at, o.created_at, o.updated_at," \
    " u.company," \
    " (SELECT COALESCE(SUM(c.units), 0) FROM contracts c WHERE c.offer = o.id" \
    "  AND c.state IN ('active', 'notice'))," \
    " (SELECT COUNT(*) FROM contracts c WHERE c.offer = o.id" \
    "  AND c.state IN ('requested', 'agreed', 'active', 'notice')), o.ports"
#define NC_OFFER_FROM " FROM offers o JOIN users u ON u.id = o.provider" \
                      " JOIN backends b ON b.id = o.backend"

static json_t *
nc_market_offer_row(NcMarket *m, NcRows *r)
{
    int64_t slots = nc_rows_int(r, 11), held = nc_rows_int(r, 22);
    g_autofree char *backend = nc_rows_dup(r, 2);
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:o, s:I, s:I, s:I,"
                          " s:o, s:o, s:s, s:s, s:b, s:o, s:s, s:o, s:o, s:o, s:I,"
                          " s:{s:s, s:o}}",
                          "id", nc_rows_text(r, 0), "kind", nc_rows_text(r, 3),
                          "name", nc_rows_text(r, 4), "description", nc_rows_text(r, 5),
                          "vcpus", (json_int_t)nc_rows_int(r, 6),
                          "memory_mib", (json_int_t)nc_rows_int(r, 7),
                          "disk_gib", (json_int_t)nc_rows_int(r, 8),
                          "storage_gib", (json_int_t)nc_rows_int(r, 9),
                          "image", nc_market_col_json(r, 10),
                          "slots", (json_int_t)slots, "slots_held", (json_int_t)held,
                          "slots_free", (json_int_t)MAX(slots - held, 0),
                          "reserve_price", nc_market_price_json(nc_rows_int(r, 12)),
                          "price", nc_market_price_json(nc_rows_int(r, 17)),
                          "currency", NC_MARKET_CURRENCY, "pricing", nc_rows_text(r, 13),
                          "auto_accept", nc_rows_int(r, 14) != 0,
                          "availability_promise", json_real(nc_rows_int(r, 15) / 10.0),
                          "state", nc_rows_text(r, 16),
                          "cleared_at", nc_market_time_json(nc_rows_int(r, 18)),
                          "created_at", nc_market_time_json(nc_rows_int(r, 19)),
                          "updated_at", nc_market_time_json(nc_rows_int(r, 20)),
                          "bids", (json_int_t)nc_rows_int(r, 23),
                          "provider", "id", nc_rows_text(r, 1),
                          "company", nc_market_col_json(r, 21));
    json_object_set_new(o, "ports", json_integer(nc_rows_int(r, 24)));
    json_t *b = nc_market_backend_public(m, backend, NULL);
    json_object_set_new(o, "backend", b ? b : json_null());
    return o;
}

json_t *
nc_market_offer_get(NcMarket *m, const NcMarketCaller *caller, const char *id, GError **err)
{
    g_autoptr(NcRows) r = nc_store_query(m->store, err,
                                         "SELECT " NC_OFFER_COLS NC_OFFER_FROM
                                         " WHERE o.id = $1 AND (o.state = 'active' OR"
                                         " o.provider = $2)",
                                         NC_TEXT(id), NC_TEXT(caller ? caller->user_id : ""),
                                         NC_END);
    if (!r)
        return NULL;
    if (!nc_rows_first(r, err, "no offer %.40s in the catalogue", id))
        return NULL;
    return nc_market_offer_row(m, r);
}

/* Reads the shape and pricing fields shared by create and update. */
static int
nc_market_offer_read_common(json_t *body, bool required, const char **ret_name,
                            const char **ret_desc, int64_t *ret_slots, int64_t *ret_reserve,
                            int *ret_auto, int64_t *ret_promise, GError **err)
{
    bool auto_accept = true;
    if (nc_json_get_string(body, "name", required, NC_MARKET_NAME_MAX, ret_name, err) < 0 ||
        nc_json_get_string(body, "description", false, NC_MARKET_DESCRIPTION_MAX, ret_desc,
                           err) < 0 ||
        nc_json_get_int(body, "slots", required, 1, NC_MARKET_SLOTS_MAX, ret_slots, err) < 0)
        return -1;
    if (*ret_name && nc_market_text_check("name", *ret_name, 1, NC_MARKET_NAME_MAX, false,
                                          err) < 0)
        return -1;
    if (*ret_desc && nc_market_text_check("description", *ret_desc, 0,
                                          NC_MARKET_DESCRIPTION_MAX, true, err) < 0)
        return -1;
    json_t *rp = json_object_get(body, "reserve_price");
    if (rp && !json_is_null(rp)) {
        if (nc_market_price_parse("reserve_price", rp, true, ret_reserve, err) < 0)
            return -1;
    } else if (required) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "field 'reserve_price' is required (per "
                     "slot-hour, in %s)", NC_MARKET_CURRENCY);
        return -1;
    }
    if (nc_json_has(body, "auto_accept")) {
        if (nc_json_get_bool(body, "auto_accept", false, &auto_accept, err) < 0)
            return -1;
        *ret_auto = auto_accept;
    }
    json_t *pr = json_object_get(body, "availability_promise");
    if (pr && !json_is_null(pr)) {
        double p = json_number_value(pr);
        if (!json_is_number(pr) || !isfinite(p) || p < 0 || p > 100) {
            nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "availability_promise is a percentage "
                         "between 0 and 100, such as 99.5");
            return -1;
        }
        *ret_promise = llround(p * 10);
    }
    return 0;
}

json_t *
nc_market_offer_create(NcMarket *m, const NcMarketCaller *caller, json_t *body, GError **err)
{
    static const char *const keys[] = { "backend", "kind", "name", "description", "vcpus",
                                        "memory_mib", "disk_gib", "storage_gib", "image", "slots",
                                        "reserve_price", "pricing", "auto_accept",
                                        "availability_promise", "ports", NULL };
    const char *backend = NULL, *kind = NULL, *name = NULL, *desc = "", *image = NULL;
    const char *pricing = "spot";
    int64_t vcpus = 0, memory = 0, disk = 0, storage = 0, slots = 0, reserve = 0, ports = 0;
    int64_t promise = 990;
    int auto_accept = 1;
    if (!caller->provider) {
        nc_error_set(err, NC_ERR_FORBIDDEN, "only providers offer; become one first "
                     "(company, tax number, IBAN, address)");
        return NULL;
    }
    if (nc_json_check_keys(body, "an offer", keys, err) < 0 ||
        nc_json_get_string(body, "backend", true, 36, &backend, err) < 0 ||
        nc_json_get_string(body, "kind", true, 16, &kind, err) < 0 ||
        nc_json_get_string(body, "pricing", false, 16, &pricing, err) < 0 ||
        nc_market_offer_read_common(body, true, &name, &desc, &slots, &reserve, &auto_accept,
                                    &promise, err) < 0)
        return NULL;
    if (strcmp(pricing, "spot") != 0 && strcmp(pricing, "fixed") != 0) {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "pricing must be spot or fixed");
        return NULL;
    }
    if (strcmp(kind, "compute") == 0) {
        if (nc_json_get_int(body, "vcpus", true, 1, 256, &vcpus, err) < 0 ||
            nc_json_get_int(body, "memory_mib", true, 64, 4LL << 20, &memory, err) < 0 ||
            nc_json_get_int(body, "disk_gib", false, 1, 65536, &disk, err) < 0 ||
            nc_json_get_string(body, "image", false, NC_NAME_MAX, &image, err) < 0 ||
            nc_json_get_int(body, "ports", false, 0, NC_MARKET_PORTS_MAX, &ports, err) < 0)
            return NULL;
        if (nc_json_has(body, "storage_gib")) {
            nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "a compute offer has no storage_gib; "
                         "offer storage separately");
            return NULL;
        }
        if (!image)
            image = "test";
        if (nc_name_check("image", image, err) < 0)
            return NULL;
    } else if (strcmp(kind, "storage") == 0) {
        if (nc_json_get_int(body, "storage_gib", true, 1, 65536, &storage, err) < 0)
            return NULL;
        if (nc_json_has(body, "vcpus") || nc_json_has(body, "memory_mib") ||
            nc_json_has(body, "disk_gib") || nc_json_has(body, "image") ||
            nc_json_has(body, "ports")) {
            nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "a storage offer has only storage_gib");
            return NULL;
        }
    } else {
        nc_error_set(err, NC_ERR_INVALID_ARGUMENT, "kind must be compute or storage");
        return NULL;
    }
    int64_t owned = nc_market_count(m->store, err,
                                    "SELECT COUNT(*) FROM backends WHERE id = $1 AND provider = $2"
                                    " AND removed_at IS NULL",
                                    NC_TEXT(backend), NC_TEXT(caller->user_id), NC_END);
    if (owned < 0)
        return NULL;
    if (owned == 0) {
        nc_error_set(err, NC_ERR_NOT_FOUND, "you have no backend %.40s", backend);
        return NULL;
    }
    int64_t n = nc_market_count(m->store, err,
                                "SELECT COUNT(*) FROM offers WHERE provider = $1 AND"
                                " state = 'active'", NC_TEXT(caller->user_id), NC_END);
    if (n < 0)
        return NULL;
    if (n >= NC_MARKET_OFFERS_PER_PROVIDER) {
        nc_error_set(err, NC_ERR_QUOTA_EXCEEDED, "a provider has at most %d active offers",
                     NC_MARKET_OFFERS_PER_PROVIDER);
        return NULL;
    }
    g_autofree char *id = nc_uuid_new();
    int64_t now = nc_now_ms();
    if (nc_store_exec(m->store, err,
                      "INSERT INTO offers (id, provider, backend, kind, name, description, vcpus,"
                      " memory_mib, disk_gib, storage_gib, image, slots, reserve, pricing,"
                      " auto_accept, availability_promise, state, price, created_at, updated_at,"
                      " ports)"
                      " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,'active',"
                      "$13,$17,$17,$18)",
                      NC_TEXT(id), NC_TEXT(caller->user_id), NC_TEXT(backend), NC_TEXT(kind),
                      NC_TEXT(name), NC_TEXT(desc), NC_INT(vcpus), NC_INT(memory), NC_INT(disk),
                      NC_INT(storage), NC_TEXT(image), NC_INT(slots), NC_INT(reserve),
                      NC_TEXT(pricing), NC_INT(auto_accept), NC_INT(promise), NC_INT(now),
                      NC_INT(ports), NC_END) < 0)
        return NULL;
    json_t *o = nc_market_offer_get(m, caller, id, err);
    if (o)
        nc_market_events_publish(m->events, "offer", NULL, NULL, id,
                                 json_pack("{s:s, s:s}", "id", id, "state", "active"));
    nc_market_poke(m);
    return o;
}

/* 0 when the caller owns offer @id, else NOT_FOUND. */
static int
nc_market_offer_owned(NcMarket *m, const NcMarketCaller *caller, const char *id, GError **err)
{
    int64_t n = nc_market_count(m->store, err,
                                "SELECT COUNT(*) FROM offers WHERE id = $1 AND provider = $2",
                                NC_TEXT(id), NC_TEXT(caller->user_id), NC_END);
    return nc_store_found(n, err, "you have no offer %.40s", id);
}

json_t *
nc_market_offer_update(NcMarket *m, const NcMarketCaller *caller, const char *id, json_t *body,
                       GError **err)
{
    static const char *const keys[] = { "name", "description", "slots", "reserve_price",
                                        "auto_accept", "availability_promise", NULL };
    const char *name = NULL, *desc = NULL;
    int64_t slots = -1, reserve = -1, promise = -1;
    int auto_accept = -1;
    if (nc_market_offer_owned(m, caller, id, err) < 0 ||
        nc_json_check_keys(body, "an offer update", keys, err) < 0 ||
        nc_market_offer_read_common(body, false, &name, &desc, &slots, &reserve, &auto_accept,
                                    &promise, err) < 0)
        return NULL;
    int64_t active = nc_market_count(m->store, err,
                                     "SELECT COUNT(*) FROM offers WHERE id = $1"
                                     " AND state = 'active'", NC_TEXT(id), NC_END);
    if (active < 0)
        return NULL;
    if (active == 0) {
        nc_error_set(err, NC_ERR_CONFLICT, "the offer is withdrawn; make a new one");
        return NULL;
    }
    if (nc_store_exec(m->store, err,
                      "UPDATE offers SET name = COALESCE($2, name),"
                      " description = COALESCE($3, description),"
                      " slots = CASE WHEN $4 >= 0 THEN $4 ELSE slots END,"
                      " reserve = CASE WHEN $5 >= 0 THEN $5 ELSE reserve END,"
                      " auto_accept = CASE WHEN $6 >= 0 THEN $6 ELSE auto_accept END,"
                      " availability_promise = CASE WHEN $7 >= 0 THEN $7"
                      "  ELSE availability_promise END,"
                      " price = CASE WHEN pricing = 'fixed' AND $5 >= 0 THEN $5 ELSE price END,"
                      " updated_at = $8 WHERE id = $1",
                      NC_TEXT(id), NC_TEXT(name), NC_TEXT(desc), NC_INT(slots), NC_INT(reserve),
                      NC_INT(auto_accept), NC_INT(promise), NC_INT(nc_now_ms()), NC_END) < 0)
        return NULL;
    nc_market_events_publish(m->events, "offer", NULL, NULL, id,
                             json_pack("{s:s, s:s}", "id", id, "state", "active"));
    nc_market_poke(m);
    return nc_market_offer_get(m, caller, id, err);
}

int
nc_market_offer_withdraw(NcMarket *m, const NcMarketCaller *caller, const char *id, GError **err)
{
    if (nc_market_offer_owned(m, caller, id, err) < 0)
        return -1;
    return nc_market_offer_withdraw_internal(m, id, "offer withdrawn", err);
}

int
nc_market_offer_withdraw_internal(NcMarket *m, const char *id, const char *reason, GError **err)
{
    {
        g_auto(NcStoreTxn) txn = { 0 };
        if (nc_store_txn_begin(&txn, m->store, err) < 0)
            return -1;
        int64_t n = nc_store_exec(m->store, err,
                                  "UPDATE offers SET state = 'withdrawn', updated_at = $2"
                                  " WHERE id = $1 AND state = 'active'",
                                  NC_TEXT(id), NC_INT(nc_now_ms()), NC_END);
        if (n < 0)
            return -1;
        if (n == 0) {
            nc_error_set(err, NC_ERR_CONFLICT, "the offer is withdrawn already");
            return -1;
        }
        if (nc_market_contracts_offer_gone(m, id, reason, err) < 0)
            return -1;
        if (nc_store_txn_commit(&txn, err) < 0)
            return -1;
    }
    nc_market_contracts_flush_events(m);
    nc_market_events_publish(m->events, "offer", NULL, NULL, id,
                             json_pack("{s:s, s:s}", "id", id, "state", "withdrawn"));
    return 0;
}

/* Escapes LIKE's wildcards in user text. */
static char *
nc_market_like_pattern(const char *q)
{
    GString *s = g_string_new("%");
    for (const char *p = q; *p; p++) {
        if (*p == '%' || *p == '_' || *p == '\\')
            g_string_append_c(s, '\\');
        g_string_append_c(s, g_ascii_tolower(*p));
    }
    g_string_append_c(s, '%');
    return g_string_free(s, FALSE);
}

json_t *
nc_market_offer_search(NcMarket *m, const NcMarketCaller *caller, const NcOfferSearch *s,
                       GError **err)
{
    GString *sql = g_string_new("SELECT " NC_OFFER_COLS NC_OFFER_FROM " WHERE 1 = 1");
    g_autoptr(GArray) args = g_array_new(FALSE, TRUE, sizeof(NcVal));
    g_autofree char *like = s->q ? nc_market_like_pattern(s->q) : NULL;
    int n = 0;
#define TEXTARG(x) do { NcVal v_ = NC_TEXT(x); g_array_append_val(args, v_); n++; } while (0)
#define INTARG(x) do { NcVal v_ = NC_INT(x); g_array_append_val(args, v_); n++; } while (0)

    if (s->mine) {
        TEXTARG(caller->user_id);
        g_string_append_printf(sql, " AND o.provider = $%d", n);
    } else {
        g_string_append(sql, " AND o.state = 'active'");
    }
    if (s->kind) {
        TEXTARG(s->kind);
        g_string_append_printf(sql, " AND o.kind = $%d", n);
    }
    if (s->pricing) {
        TEXTARG(s->pricing);
        g_string_append_printf(sql, " AND o.pricing = $%d", n);
    }
    if (s->provider) {
        TEXTARG(s->provider);
        g_string_append_printf(sql, " AND o.provider = $%d", n);
    }
    if (s->backend) {
        TEXTARG(s->backend);
        g_string_append_printf(sql, " AND o.backend = $%d", n);
    }
    if (like) {
        TEXTARG(like);
        g_string_append_printf(sql, " AND (lower(o.name) LIKE $%d ESCAPE '\\' OR"
                               " lower(o.description) LIKE $%d ESCAPE '\\' OR"
                               " lower(u.company) LIKE $%d ESCAPE '\\')", n, n, n);
    }
    const struct { int64_t v; const char *col; } mins[] = {
        { s->min_vcpus, "o.vcpus" }, { s->min_memory_mib, "o.memory_mib" },
        { s->min_disk_gib, "o.disk_gib" }, { s->min_storage_gib, "o.storage_gib" },
        { s->min_availability, "b.availability" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(mins); i++) {
        if (mins[i].v > 0) {
            INTARG(mins[i].v);
            g_string_append_printf(sql, " AND %s >= $%d", mins[i].col, n);
        }
    }
    if (s->max_price >= 0) {
        INTARG(s->max_price);
        g_string_append_printf(sql, " AND o.price <= $%d", n);
    }
    if (s->max_depth >= 0) {
        INTARG(s->max_depth);
        g_string_append_printf(sql, " AND b.depth <= $%d", n);
    }
    if (s->depth >= 0) {
        INTARG(s->depth);
        g_string_append_printf(sql, " AND b.depth = $%d", n);
    }
    const char *order = "o.price ASC, o.created_at ASC";
    if (g_strcmp0(s->sort, "availability") == 0)
        order = "b.availability DESC, o.price ASC";
    else if (g_strcmp0(s->sort, "launch") == 0)
        order = "CASE WHEN b.launch_ms IS NULL THEN 1 ELSE 0 END, b.launch_ms ASC, o.price ASC";
    else if (g_strcmp0(s->sort, "newest") == 0)
        order = "o.created_at DESC";
    g_string_append_printf(sql, " ORDER BY %s, o.id", order);
    INTARG(s->limit + 1);
    g_string_append_printf(sql, " LIMIT $%d", n);
    INTARG(s->offset);
    g_string_append_printf(sql, " OFFSET $%d", n);
    NcVal end = NC_END;
    g_array_append_val(args, end);
#undef TEXTARG
#undef INTARG

    g_autofree char *text = g_string_free(sql, FALSE);
    g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func((GDestroyNotify)json_decref);
    {
        g_autoptr(NcRows) r = nc__store_query(m->store, text, (const NcVal *)args->data, err);
        if (!r)
            return NULL;
        while (nc_rows_next(r, err))
            g_ptr_array_add(rows, nc_market_offer_row(m, r));
        if (*err)
            return NULL;
    }
    bool more = rows->len > (guint)s->limit;
    json_t *list = json_array();
    for (guint i = 0; i < rows->len && i < (guint)s->limit; i++)
        json_array_append(list, g_ptr_array_index(rows, i));
    return json_pack("{s:o, s:o, s:I}", "offers", list,
                     "next_offset", more ? json_integer(s->offset + s->limit) : json_null(),
                     "count", (json_int_t)json_array_size(list));
}

static json_t *
nc_market_history_row(NcRows *r)
{
    /* id, offer, time, price, bids, winners, filled, slots, backend_up, interruptions,
     * name, kind, provider */
    return json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:o, s:I, s:I, s:I, s:I, s:b, s:I}",
                     "offer", nc_rows_text(r, 1), "offer_name", nc_rows_text(r, 10),
                     "kind", nc_rows_text(r, 11), "provider", nc_rows_text(r, 12),
                     "price", nc_market_price_json(nc_rows_int(r, 3)),
                     "currency", NC_MARKET_CURRENCY,
                     "timestamp", nc_market_time_json(nc_rows_int(r, 2)),
                     "bids", (json_int_t)nc_rows_int(r, 4),
                     "winners", (json_int_t)nc_rows_int(r, 5),
                     "filled", (json_int_t)nc_rows_int(r, 6),
                     "slots", (json_int_t)nc_rows_int(r, 7),
                     "backend_up", nc_rows_int(r, 8) != 0,
                     "interruptions", (json_int_t)nc_rows_int(r, 9));
}

json_t *
nc_market_price_history(NcMarket *m, const NcPriceQuery *q, GError **err)
{
    GString *sql = g_string_new("SELECT h.id, h.offer, h.time, h.price, h.bids, h.winners,"
                                " h.filled, h.slots, h.backend_up, h.interruptions, o.name,"
                                " o.kind, o.provider FROM price_history h"
                                " JOIN offers o ON o.id = h.offer WHERE 1 = 1");
    g_autoptr(GArray) args = g_array_new(FALSE, TRUE, sizeof(NcVal));
    int n = 0;
#define TEXTARG(x) do { NcVal v_ = NC_TEXT(x); g_array_append_val(args, v_); n++; } while (0)
#define INTARG(x) do { NcVal v_ = NC_INT(x); g_array_append_val(args, v_); n++; } while (0)
    if (q->offer) {
        TEXTARG(q->offer);
        g_string_append_printf(sql, " AND h.offer = $%d", n);
    }
    if (q->kind) {
        TEXTARG(q->kind);
        g_string_append_printf(sql, " AND o.kind = $%d", n);
    }
    if (q->provider) {
        TEXTARG(q->provider);
        g_string_append_printf(sql, " AND o.provider = $%d", n);
    }
    if (q->start_ms > 0) {
        INTARG(q->start_ms);
        g_string_append_printf(sql, " AND h.time >= $%d", n);
    }
    if (q->end_ms > 0) {
        INTARG(q->end_ms);
        g_string_append_printf(sql, " AND h.time <= $%d", n);
    }
    if (q->next_token > 0) {
        INTARG(q->next_token);
        g_string_append_printf(sql, " AND h.id < $%d", n);
    }
    INTARG(q->max_results + 1);
    g_string_append_printf(sql, " ORDER BY h.id DESC LIMIT $%d", n);
    NcVal end = NC_END;
    g_array_append_val(args, end);
#undef TEXTARG
#undef INTARG
    g_autofree char *text = g_string_free(sql, FALSE);
    g_autoptr(NcRows) r = nc__store_query(m->store, text, (const NcVal *)args->data, err);
    if (!r)
        return NULL;
    json_t *list = json_array();
    int64_t last_id = 0;
    bool more = false;
    while (nc_rows_next(r, err)) {
        if ((int64_t)json_array_size(list) == q->max_results) {
            more = true;
            break;
        }
        last_id = nc_rows_int(r, 0);
        json_array_append_new(list, nc_market_history_row(r));
    }
    if (*err) {
        json_decref(list);
        return NULL;
    }
    g_autofree char *token = more ? g_strdup_printf("%" G_GINT64_FORMAT, last_id) : NULL;
    return json_pack("{s:o, s:o}", "price_history", list, "next_token",
                     nc_json_string_or_null(token));
}

json_t *
nc_market_offer_page(NcMarket *m, const NcMarketCaller *caller, const char *id, GError **err)
{
    json_t *offer = nc_market_offer_get(m, caller, id, err);
    if (!offer)
        return NULL;
    const char *provider = nc_json_str(json_object_get(offer, "provider"), "id");
    json_t *prov = nc_market_provider_public(m, provider, NULL);
    if (!prov)
        prov = json_null();
    NcPriceQuery q = { .offer = id, .start_ms = nc_now_ms() - 3600 * 1000, .max_results = 300 };
    json_t *hist = nc_market_price_history(m, &q, err);
    if (!hist) {
        json_decref(offer);
        json_decref(prov);
        return NULL;
    }
    /* the chart wants oldest first */
    json_t *points = json_object_get(hist, "price_history");
    json_t *chrono = json_array();
    for (size_t i = json_array_size(points); i-- > 0;)
        json_array_append(chrono, json_array_get(points, i));
    json_decref(hist);
    return json_pack("{s:o, s:o, s:o, s:{s:I, s:I, s:s}}", "offer", offer, "provider", prov,
                     "price_history", chrono, "market",
                     "clearing_interval_s", (json_int_t)(m->cfg.clearing_interval_ms / 1000),
                     "notice_s", (json_int_t)(m->cfg.notice_ms / 1000),
                     "currency", NC_MARKET_CURRENCY);
}

void
nc_market_history_prune(NcMarket *m)
{
    int64_t now = nc_now_ms();
    nc_store_exec(m->store, NULL, "DELETE FROM price_history WHERE time < $1",
                  NC_INT(now - NC_MARKET_HISTORY_DAYS * 24LL * 3600 * 1000), NC_END);
    nc_store_exec(m->store, NULL, "DELETE FROM probes WHERE time < $1",
                  NC_INT(now - NC_MARKET_PROBES_DAYS * 24LL * 3600 * 1000), NC_END);
}
