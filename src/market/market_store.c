/* market_store.c: the market's schema and row helpers. */
#include "market_store.h"
#include "util/nc_time.h"

#include <glib.h>

static const char *const nc_market_schema_versions[] = {
    /* 1: accounts, backends, offers, contracts, allocations, meter, history */
    "CREATE TABLE users ("
    "  id TEXT PRIMARY KEY,"
    "  email TEXT NOT NULL UNIQUE,"
    "  name TEXT NOT NULL,"
    "  password TEXT NOT NULL,"
    "  created_at BIGINT NOT NULL,"
    "  provider_since BIGINT,"
    "  company TEXT,"
    "  tax_number TEXT,"
    "  iban TEXT,"
    "  address TEXT);"
    "CREATE TABLE sessions ("
    "  hash TEXT PRIMARY KEY,"
    "  user_id TEXT NOT NULL REFERENCES users(id),"
    "  csrf TEXT NOT NULL,"
    "  created_at BIGINT NOT NULL,"
    "  expires_at BIGINT NOT NULL);"
    "CREATE INDEX sessions_user ON sessions (user_id);"
    "CREATE TABLE tokens ("
    "  id TEXT PRIMARY KEY,"
    "  hash TEXT NOT NULL UNIQUE,"
    "  user_id TEXT NOT NULL REFERENCES users(id),"
    "  name TEXT NOT NULL,"
    "  created_at BIGINT NOT NULL,"
    "  last_used_at BIGINT);"
    "CREATE INDEX tokens_user ON tokens (user_id);"
    "CREATE TABLE backends ("
    "  id TEXT PRIMARY KEY,"
    "  provider TEXT NOT NULL REFERENCES users(id),"
    "  name TEXT NOT NULL,"
    "  url TEXT NOT NULL,"
    "  token_sealed TEXT NOT NULL,"
    "  depth BIGINT NOT NULL DEFAULT 0,"
    "  upstream_allocation TEXT,"
    "  cloud_id TEXT,"
    "  accel TEXT,"
    "  state TEXT NOT NULL,"
    "  state_since BIGINT NOT NULL,"
    "  status TEXT NOT NULL DEFAULT '{}',"
    "  last_error TEXT,"
    "  last_probe_at BIGINT,"
    "  last_ok_at BIGINT,"
    "  failures BIGINT NOT NULL DEFAULT 0,"
    "  quality TEXT NOT NULL DEFAULT '{}',"
    "  availability BIGINT NOT NULL DEFAULT 0,"
    "  launch_ms BIGINT,"
    "  interruptions BIGINT NOT NULL DEFAULT 0,"
    "  removed_at BIGINT,"
    "  created_at BIGINT NOT NULL);"
    "CREATE INDEX backends_provider ON backends (provider);"
    "CREATE TABLE probes ("
    "  id {{SERIAL}},"
    "  backend TEXT NOT NULL,"
    "  time BIGINT NOT NULL,"
    "  ok BIGINT NOT NULL,"
    "  latency_ms BIGINT NOT NULL);"
    "CREATE INDEX probes_backend ON probes (backend, time);"
    "CREATE TABLE backend_events ("
    "  id {{SERIAL}},"
    "  backend TEXT NOT NULL,"
    "  time BIGINT NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  value BIGINT NOT NULL DEFAULT 0,"
    "  detail TEXT);"
    "CREATE INDEX backend_events_backend ON backend_events (backend, kind, time);"
    "CREATE TABLE offers ("
    "  id TEXT PRIMARY KEY,"
    "  provider TEXT NOT NULL REFERENCES users(id),"
    "  backend TEXT NOT NULL REFERENCES backends(id),"
    "  kind TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  description TEXT NOT NULL DEFAULT '',"
    "  vcpus BIGINT NOT NULL DEFAULT 0,"
    "  memory_mib BIGINT NOT NULL DEFAULT 0,"
    "  disk_gib BIGINT NOT NULL DEFAULT 0,"
    "  storage_gib BIGINT NOT NULL DEFAULT 0,"
    "  image TEXT,"
    "  slots BIGINT NOT NULL,"
    "  reserve BIGINT NOT NULL,"
    "  pricing TEXT NOT NULL,"
    "  auto_accept BIGINT NOT NULL,"
    "  availability_promise BIGINT NOT NULL,"
    "  state TEXT NOT NULL,"
    "  price BIGINT NOT NULL,"
    "  cleared_at BIGINT,"
    "  created_at BIGINT NOT NULL,"
    "  updated_at BIGINT NOT NULL);"
    "CREATE INDEX offers_backend ON offers (backend);"
    "CREATE INDEX offers_provider ON offers (provider);"
    "CREATE TABLE contracts ("
    "  id TEXT PRIMARY KEY,"
    "  offer TEXT NOT NULL REFERENCES offers(id),"
    "  consumer TEXT NOT NULL REFERENCES users(id),"
    "  provider TEXT NOT NULL REFERENCES users(id),"
    "  state TEXT NOT NULL,"
    "  max_price BIGINT NOT NULL,"
    "  units BIGINT NOT NULL,"
    "  price BIGINT,"
    "  config TEXT NOT NULL DEFAULT '{}',"
    "  terms TEXT,"
    "  end_reason TEXT,"
    "  notice_until BIGINT,"
    "  notice_reason TEXT,"
    "  created_at BIGINT NOT NULL,"
    "  updated_at BIGINT NOT NULL,"
    "  agreed_at BIGINT,"
    "  activated_at BIGINT,"
    "  ended_at BIGINT);"
    "CREATE INDEX contracts_offer ON contracts (offer, state);"
    "CREATE INDEX contracts_consumer ON contracts (consumer, created_at);"
    "CREATE INDEX contracts_provider ON contracts (provider, created_at);"
    "CREATE TABLE contract_log ("
    "  id {{SERIAL}},"
    "  contract TEXT NOT NULL,"
    "  time BIGINT NOT NULL,"
    "  from_state TEXT,"
    "  to_state TEXT NOT NULL,"
    "  reason TEXT NOT NULL);"
    "CREATE INDEX contract_log_contract ON contract_log (contract, id);"
    "CREATE TABLE allocations ("
    "  id TEXT PRIMARY KEY,"
    "  contract TEXT NOT NULL UNIQUE REFERENCES contracts(id),"
    "  consumer TEXT NOT NULL,"
    "  provider TEXT NOT NULL,"
    "  backend TEXT NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  desired TEXT NOT NULL,"
    "  state TEXT NOT NULL,"
    "  remote_id TEXT,"
    "  remote_name TEXT NOT NULL,"
    "  remote_state TEXT,"
    "  op TEXT,"
    "  op_kind TEXT,"
    "  vcpus BIGINT NOT NULL DEFAULT 0,"
    "  memory_mib BIGINT NOT NULL DEFAULT 0,"
    "  disk_gib BIGINT NOT NULL DEFAULT 0,"
    "  storage_gib BIGINT NOT NULL DEFAULT 0,"
    "  units BIGINT NOT NULL DEFAULT 1,"
    "  address TEXT,"
    "  note TEXT,"
    "  error TEXT,"
    "  created_at BIGINT NOT NULL,"
    "  updated_at BIGINT NOT NULL);"
    "CREATE INDEX allocations_backend ON allocations (backend, desired);"
    "CREATE INDEX allocations_consumer ON allocations (consumer);"
    "CREATE TABLE meter ("
    "  id {{SERIAL}},"
    "  contract TEXT NOT NULL,"
    "  consumer TEXT NOT NULL,"
    "  provider TEXT NOT NULL,"
    "  offer TEXT NOT NULL,"
    "  start_s BIGINT NOT NULL,"
    "  end_s BIGINT,"
    "  price BIGINT NOT NULL,"
    "  units BIGINT NOT NULL,"
    "  amount BIGINT NOT NULL DEFAULT 0);"
    "CREATE INDEX meter_contract ON meter (contract, end_s);"
    "CREATE INDEX meter_consumer ON meter (consumer, start_s);"
    "CREATE INDEX meter_provider ON meter (provider, start_s);"
    "CREATE TABLE price_history ("
    "  id {{SERIAL}},"
    "  offer TEXT NOT NULL,"
    "  time BIGINT NOT NULL,"
    "  price BIGINT NOT NULL,"
    "  bids BIGINT NOT NULL,"
    "  winners BIGINT NOT NULL,"
    "  filled BIGINT NOT NULL,"
    "  slots BIGINT NOT NULL,"
    "  backend_up BIGINT NOT NULL,"
    "  interruptions BIGINT NOT NULL);"
    "CREATE INDEX price_history_offer ON price_history (offer, id);"
    "CREATE INDEX price_history_time ON price_history (time);",
    /* 2: the open contracts in clearing order, so that a round reads them
     * without sorting (bench/market_round.py) */
    "CREATE INDEX contracts_open ON contracts (created_at, id)"
    " WHERE state IN ('agreed', 'active', 'notice');",
    /* 3: how many TCP ports a buyer may forward from the backend's host to
     * the allocation's VM (a reseller's Nested Cloud API, a web server) */
    "ALTER TABLE offers ADD COLUMN ports BIGINT NOT NULL DEFAULT 0;",
    /* 4: contracts_open covers every column the round reads, so that the
     * round walks the index alone instead of looking each of 100,000 rows
     * up in the table; contracts_notice lets the ticker find expired notices
     * without scanning every contract each tick (bench/market_round.py) */
    "DROP INDEX contracts_open;"
    "CREATE INDEX contracts_open ON contracts (created_at, id, offer, state, max_price, units,"
    " price, notice_reason) WHERE state IN ('agreed', 'active', 'notice');"
    "CREATE INDEX contracts_notice ON contracts (notice_until) WHERE state = 'notice';",
};

const NcSchema nc_market_schema = {
    .versions = nc_market_schema_versions,
    .count = G_N_ELEMENTS(nc_market_schema_versions),
};

NcStore *
nc_market_store_open(const char *target, GError **err)
{
    NcStore *st = nc_store_open_schema(target, &nc_market_schema, err);
    if (st && g_strcmp0(nc_store_driver_name(st), "sqlite") == 0) {
        /* a clearing round reads every open contract: keep the file mapped
         * and cached rather than pread() it page by page each round */
        static const char *const tuning[] = { "PRAGMA mmap_size = 268435456",
                                              "PRAGMA cache_size = -65536" };
        for (size_t i = 0; i < G_N_ELEMENTS(tuning); i++) {
            g_autoptr(NcRows) r = nc_store_query(st, NULL, tuning[i], NC_END);
            while (r && nc_rows_next(r, NULL))
                ;
        }
    }
    return st;
}

json_t *
nc_market_time_json(int64_t ms)
{
    if (ms <= 0)
        return json_null();
    g_autofree char *s = nc_time_format(ms);
    return json_string(s);
}

json_t *
nc_market_col_json(NcRows *r, int col)
{
    const char *s = nc_rows_text(r, col);
    return s ? json_string(s) : json_null();
}

int64_t
nc__market_count(NcStore *st, const char *sql, const NcVal *args, GError **err)
{
    g_autoptr(NcRows) r = nc__store_query(st, sql, args, err);
    if (!r)
        return -1;
    GError *local = NULL;
    if (!nc_rows_next(r, &local)) {
        if (local) {
            g_propagate_error(err, local);
            return -1;
        }
        return 0;
    }
    return nc_rows_int(r, 0);
}
