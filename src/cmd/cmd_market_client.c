/* cmd_market_client.c: `nestcloud market VERB ...`, the market's API from
 * the command line: the public catalogue and price history, and with an
 * API token made in the market (NESTCLOUD_MARKET_TOKEN or --token) bids,
 * contracts, allocations and statements.  `nestcloud market` without a
 * verb is the market daemon (cmd_market.c). */
#include "cli.h"
#include "util/nc_json.h"

#include <stdio.h>
#include <string.h>

/* GETs @path and prints it: a table (@make's columns) of @list_key's rows
 * through @row, or JSON with --json or without @row. */
static int
nc_market_show(NcCli *cli, const char *path, const char *list_key, NcTable *(*make)(void),
               void (*row)(NcTable *t, json_t *item))
{
    g_autoptr(NcClient) client = cli->client;
    g_autoptr(GError) err = NULL;
    g_autoptr(json_t) r = nc_client_call(client, "GET", path, NULL, NULL, &err);
    if (!r)
        return nc_cli_fail(err);
    if (cli->json || !row) {
        nc_cli_print_json(r);
        return 0;
    }
    NcTable *t = make();
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(r, list_key), i, item)
        row(t, item);
    nc_table_print(t, stdout);
    return 0;
}

/* Prices travel as decimal strings ("0.042"); anything else prints as JSON. */
static char *
nc_market_text(json_t *v)
{
    if (json_is_string(v))
        return g_strdup(json_string_value(v));
    if (!v || json_is_null(v))
        return g_strdup("-");
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    char *out = g_strdup(s);
    free(s);
    return out;
}

static NcTable *
nc_market_offer_table(void)
{
    return nc_table_new("NAME", "KIND", "SIZE", "PRICING", "PRICE", "RESERVE", "FREE", "ID",
                        NULL);
}

static void
nc_market_offer_row(NcTable *t, json_t *o)
{
    g_autofree char *price = nc_market_text(json_object_get(o, "price"));
    g_autofree char *reserve = nc_market_text(json_object_get(o, "reserve_price"));
    g_autofree char *free_slots = g_strdup_printf("%" G_GINT64_FORMAT "/%" G_GINT64_FORMAT,
                                                  nc_json_int(o, "slots_free", 0),
                                                  nc_json_int(o, "slots", 0));
    g_autofree char *size = g_strcmp0(nc_json_str(o, "kind"), "storage") == 0
        ? g_strdup_printf("%" G_GINT64_FORMAT " GiB", nc_json_int(o, "storage_gib", 0))
        : g_strdup_printf("%" G_GINT64_FORMAT " vCPU %" G_GINT64_FORMAT " MiB",
                          nc_json_int(o, "vcpus", 0), nc_json_int(o, "memory_mib", 0));
    nc_table_add(t, nc_json_str(o, "name"), nc_json_str(o, "kind"), size,
                 nc_json_str(o, "pricing"), price, reserve, free_slots, nc_json_str(o, "id"));
}

static int
nc_market_offers(NcCli *cli, int argc, char **argv)
{
    char *kind = NULL, *query = NULL;
    GOptionEntry entries[] = {
        { "kind", 0, 0, G_OPTION_ARG_STRING, &kind, "compute or storage", "KIND" },
        { "search", 0, 0, G_OPTION_ARG_STRING, &query, "Words in the name or description", "TEXT" },
        { NULL }
    };
    if (nc_cli_parse("- the public catalogue", entries, &argc, &argv, cli) < 0)
        return 2;
    g_autoptr(GString) path = g_string_new("/market/v1/offers?limit=100");
    if (kind) {
        g_autofree char *e = nc_client_escape(kind);
        g_string_append_printf(path, "&kind=%s", e);
    }
    if (query) {
        g_autofree char *e = nc_client_escape(query);
        g_string_append_printf(path, "&q=%s", e);
    }
    g_free(kind);
    g_free(query);
    return nc_market_show(cli, path->str, "offers", nc_market_offer_table, nc_market_offer_row);
}

/* `VERB ID`: GET of one object by id, as JSON. */
static int
nc_market_get_one(NcCli *cli, int argc, char **argv, const char *usage, const char *fmt)
{
    if (nc_cli_parse(usage, NULL, &argc, &argv, cli) < 0)
        return 2;
    if (argc != 2) {
        g_clear_pointer(&cli->client, nc_client_free);
        fprintf(stderr, "usage: nestcloud market %s\n", usage);
        return 2;
    }
    g_autofree char *path = nc_cli_path(fmt, argv[1]);
    return nc_market_show(cli, path, NULL, NULL, NULL);
}

static int
nc_market_offer(NcCli *cli, int argc, char **argv)
{
    return nc_market_get_one(cli, argc, argv, "offer ID", "/market/v1/offers/%s");
}

static int
nc_market_prices(NcCli *cli, int argc, char **argv)
{
    return nc_market_get_one(cli, argc, argv, "prices OFFER",
                             "/market/v1/offers/%s/price-history");
}

static int
nc_market_contract(NcCli *cli, int argc, char **argv)
{
    return nc_market_get_one(cli, argc, argv, "contract ID", "/market/v1/contracts/%s");
}

static NcTable *
nc_market_contract_table(void)
{
    return nc_table_new("OFFER", "ROLE", "STATE", "PRICE", "MAX", "COST", "ID", NULL);
}

static void
nc_market_contract_row(NcTable *t, json_t *c)
{
    json_t *offer = json_object_get(c, "offer");
    g_autofree char *price = nc_market_text(json_object_get(c, "price"));
    g_autofree char *max = nc_market_text(json_object_get(c, "max_price"));
    g_autofree char *cost = nc_market_text(json_object_get(c, "cost_to_date"));
    nc_table_add(t, nc_json_str(offer, "name"), nc_json_str(c, "role"), nc_json_str(c, "state"),
                 price, max, cost, nc_json_str(c, "id"));
}

static int
nc_market_contracts(NcCli *cli, int argc, char **argv)
{
    gboolean provider = FALSE;
    GOptionEntry entries[] = {
        { "provider", 0, 0, G_OPTION_ARG_NONE, &provider, "The contracts on my offers", NULL },
        { NULL }
    };
    if (nc_cli_parse("- my contracts", entries, &argc, &argv, cli) < 0)
        return 2;
    return nc_market_show(cli, provider ? "/market/v1/contracts?role=provider"
                                        : "/market/v1/contracts",
                          "contracts", nc_market_contract_table, nc_market_contract_row);
}

static NcTable *
nc_market_alloc_table(void)
{
    return nc_table_new("KIND", "STATE", "CONTRACT", "ID", NULL);
}

static void
nc_market_alloc_row(NcTable *t, json_t *a)
{
    nc_table_add(t, nc_json_str(a, "kind"), nc_json_str(a, "state"),
                 nc_json_str(a, "contract"), nc_json_str(a, "id"));
}

static int
nc_market_allocations(NcCli *cli, int argc, char **argv)
{
    if (nc_cli_parse("- my allocations", NULL, &argc, &argv, cli) < 0)
        return 2;
    return nc_market_show(cli, "/market/v1/allocations", "allocations", nc_market_alloc_table,
                          nc_market_alloc_row);
}

static int
nc_market_statement(NcCli *cli, int argc, char **argv)
{
    if (nc_cli_parse("- what I paid and earned", NULL, &argc, &argv, cli) < 0)
        return 2;
    return nc_market_show(cli, "/market/v1/statements", NULL, NULL, NULL);
}

/* POSTs @body to @path and prints the answer. */
static int
nc_market_post(NcCli *cli, const char *path, json_t *body)
{
    g_autoptr(NcClient) client = cli->client;
    g_autoptr(GError) err = NULL;
    g_autoptr(json_t) r = nc_client_call(client, "POST", path, body, NULL, &err);
    if (!r)
        return nc_cli_fail(err);
    nc_cli_print_json(r);
    return 0;
}

/* The most user-data the market takes (its own limit, checked again there). */
#define NC_MARKET_USER_DATA_MAX (32 * 1024)

static int
nc_market_bid(NcCli *cli, int argc, char **argv)
{
    char *max = NULL, *user_data_file = NULL;
    gboolean start = FALSE;
    GOptionEntry entries[] = {
        { "max-price", 0, 0, G_OPTION_ARG_STRING, &max,
          "The most I pay per slot-hour, such as 0.05 (required for spot offers)", "PRICE" },
        { "start", 0, 0, G_OPTION_ARG_NONE, &start, "Start the VM once it is created", NULL },
        { "user-data", 0, 0, G_OPTION_ARG_FILENAME, &user_data_file,
          "The VM's NoCloud user-data (a Nested Cloud's seed), from FILE", "FILE" },
        { NULL }
    };
    if (nc_cli_parse("OFFER - ask for a slot of an offer (a bid on a spot offer)", entries,
                     &argc, &argv, cli) < 0)
        return 2;
    g_autofree char *user_data = NULL;
    gsize len = 0;
    g_autoptr(GError) err = NULL;
    if (argc == 2 && user_data_file &&
        (!g_file_get_contents(user_data_file, &user_data, &len, &err) ||
         len > NC_MARKET_USER_DATA_MAX || strlen(user_data) != len)) {
        fprintf(stderr, "nestcloud: --user-data %s: %s\n", user_data_file,
                err ? err->message : "not a text of at most 32 KiB");
        argc = 0;
    }
    g_free(user_data_file);
    if (argc != 2) {
        g_clear_pointer(&cli->client, nc_client_free);
        g_free(max);
        fprintf(stderr, "usage: nestcloud market bid OFFER [--max-price PRICE] [--start] "
                "[--user-data FILE]\n");
        return 2;
    }
    g_autoptr(json_t) body = json_pack("{s:s}", "offer", argv[1]);
    if (max)
        json_object_set_new(body, "max_price", json_string(max));
    g_free(max);
    if (start || user_data) {
        json_t *config = json_pack("{s:b}", "start", start);
        if (user_data)
            json_object_set_new(config, "user_data", json_string(user_data));
        json_object_set_new(body, "config", config);
    }
    return nc_market_post(cli, "/market/v1/contracts", body);
}

/* `VERB ID` that POSTs: ending a contract, an allocation's actions. */
static int
nc_market_act(NcCli *cli, int argc, char **argv, const char *usage, const char *fmt,
              const char *action)
{
    if (nc_cli_parse(usage, NULL, &argc, &argv, cli) < 0)
        return 2;
    if (argc != 2) {
        g_clear_pointer(&cli->client, nc_client_free);
        fprintf(stderr, "usage: nestcloud market %s\n", usage);
        return 2;
    }
    g_autofree char *path = nc_cli_path(fmt, argv[1]);
    g_autoptr(json_t) body = action ? json_pack("{s:s}", "action", action) : json_object();
    return nc_market_post(cli, path, body);
}

static int
nc_market_end(NcCli *cli, int argc, char **argv)
{
    return nc_market_act(cli, argc, argv, "end CONTRACT", "/market/v1/contracts/%s/end", NULL);
}

static int
nc_market_start(NcCli *cli, int argc, char **argv)
{
    return nc_market_act(cli, argc, argv, "start ALLOCATION",
                         "/market/v1/allocations/%s/actions", "start");
}

static int
nc_market_stop(NcCli *cli, int argc, char **argv)
{
    return nc_market_act(cli, argc, argv, "stop ALLOCATION",
                         "/market/v1/allocations/%s/actions", "stop");
}

/* Reads a port number argument; 0 when it is not one from @min to 65535. */
static guint
nc_market_port_arg(const char *text, guint min)
{
    guint64 n = 0;
    if (!g_ascii_string_to_unsigned(text, 10, min, 65535, &n, NULL))
        return 0;
    return (guint)n;
}

static NcTable *
nc_market_port_table(void)
{
    return nc_table_new("GUEST PORT", "HOST PORT", "HOST", "STATE", NULL);
}

static void
nc_market_port_row(NcTable *t, json_t *p)
{
    g_autofree char *guest = nc_market_text(json_object_get(p, "guest_port"));
    g_autofree char *host_port = nc_market_text(json_object_get(p, "public_port"));
    g_autofree char *host = nc_market_text(json_object_get(p, "host"));
    nc_table_add(t, guest, host_port, host, nc_json_str(p, "state"));
}

static int
nc_market_ports(NcCli *cli, int argc, char **argv)
{
    if (nc_cli_parse("ALLOCATION - the ports forwarded to an allocation's VM", NULL, &argc,
                     &argv, cli) < 0)
        return 2;
    if (argc != 2) {
        g_clear_pointer(&cli->client, nc_client_free);
        fprintf(stderr, "usage: nestcloud market ports ALLOCATION\n");
        return 2;
    }
    g_autofree char *path = nc_cli_path("/market/v1/allocations/%s/ports", argv[1]);
    return nc_market_show(cli, path, "ports", nc_market_port_table, nc_market_port_row);
}

static int
nc_market_expose(NcCli *cli, int argc, char **argv)
{
    char *port_text = NULL;
    GOptionEntry entries[] = {
        { "port", 0, 0, G_OPTION_ARG_STRING, &port_text,
          "The port on the backend's host (1024-65535; default: GUEST_PORT)", "PORT" },
        { NULL }
    };
    if (nc_cli_parse("ALLOCATION GUEST_PORT - forward a port of the backend's host to the VM",
                     entries, &argc, &argv, cli) < 0)
        return 2;
    guint guest = argc == 3 ? nc_market_port_arg(argv[2], 1) : 0;
    guint host = port_text ? nc_market_port_arg(port_text, 1024) : 0;
    bool bad_port = port_text && !host;
    g_free(port_text);
    if (argc != 3 || !guest || bad_port) {
        g_clear_pointer(&cli->client, nc_client_free);
        fprintf(stderr, "usage: nestcloud market expose ALLOCATION GUEST_PORT [--port PORT]\n"
                "  (GUEST_PORT 1-65535, PORT 1024-65535)\n");
        return 2;
    }
    g_autoptr(json_t) body = json_pack("{s:I}", "guest_port", (json_int_t)guest);
    if (host)
        json_object_set_new(body, "host_port", json_integer(host));
    g_autofree char *path = nc_cli_path("/market/v1/allocations/%s/ports", argv[1]);
    return nc_market_post(cli, path, body);
}

static int
nc_market_unexpose(NcCli *cli, int argc, char **argv)
{
    if (nc_cli_parse("ALLOCATION PORT - remove a forwarded port", NULL, &argc, &argv, cli) < 0)
        return 2;
    guint port = argc == 3 ? nc_market_port_arg(argv[2], 1024) : 0;
    if (argc != 3 || !port) {
        g_clear_pointer(&cli->client, nc_client_free);
        fprintf(stderr, "usage: nestcloud market unexpose ALLOCATION PORT (1024-65535)\n");
        return 2;
    }
    g_autofree char *base = nc_cli_path("/market/v1/allocations/%s/ports", argv[1]);
    g_autofree char *path = g_strdup_printf("%s/%u", base, port);
    g_autoptr(NcClient) client = cli->client;
    g_autoptr(GError) err = NULL;
    g_autoptr(json_t) r = nc_client_call(client, "DELETE", path, NULL, NULL, &err);
    if (!r)
        return nc_cli_fail(err);
    nc_cli_print_json(r);
    return 0;
}

const NcVerb nc_market_verbs[] = {
    { "offers", nc_market_offers, "", "the public catalogue (--kind, --search)" },
    { "offer", nc_market_offer, "ID", "one offer" },
    { "prices", nc_market_prices, "OFFER", "an offer's price history" },
    { "bid", nc_market_bid, "OFFER", "ask for a slot (--max-price on spot offers)" },
    { "contracts", nc_market_contracts, "", "my contracts (--provider: on my offers)" },
    { "contract", nc_market_contract, "ID", "one contract and its history" },
    { "end", nc_market_end, "CONTRACT", "end a contract" },
    { "allocations", nc_market_allocations, "", "my allocations" },
    { "start", nc_market_start, "ALLOCATION", "start an allocation's VM" },
    { "stop", nc_market_stop, "ALLOCATION", "stop an allocation's VM" },
    { "ports", nc_market_ports, "ALLOCATION", "ports forwarded to an allocation's VM" },
    { "expose", nc_market_expose, "ALLOCATION GUEST_PORT",
      "forward a port of the backend's host to the VM (--port)" },
    { "unexpose", nc_market_unexpose, "ALLOCATION PORT", "remove a forwarded port" },
    { "statement", nc_market_statement, "", "what I paid and earned" },
    { NULL }
};
