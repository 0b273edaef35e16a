/*
 * demo.c — `onecount demo`: a demo portfolio wired to the channel simulators.
 *
 * First run: a portfolio "Demo Agency" with an administrator (a random
 * password), three brands with SKUs, a bundle and stock, and for each brand
 * a Shopify, an Amazon and a Walmart connection to simulator accounts, mapped
 * by SKU code.  Everything but the first user goes through the public API,
 * as a person would do it.  What it needs to come back (ids, the sign-in,
 * the simulator credentials) is kept in a state file readable by its owner
 * only.
 *
 * Every run (the simulators keep nothing across restarts): the simulator
 * accounts are created again with the same credentials, the connections are
 * pointed at them, Shopify webhooks are aimed at this server, a full re-push
 * is asked for, and each account's order generator starts selling slowly.
 *
 * With --scenario (ops/run.sh starts it in the background after the wiring)
 * it plays the first minutes of a bad week, so a newcomer sees the exception
 * queue work: an oversell on a channel (two brands), an order line naming a
 * channel SKU nobody mapped, an Amazon outage (the simulator's fault
 * controls) that ends by itself four minutes later, a listing whose pushes
 * keep failing (stuck once the worker's stuck_after_seconds pass), and a SKU
 * running low after a cycle count and a few sales.  Then it exits.
 *
 *   onecount demo --api http://127.0.0.1:8080 --sim http://127.0.0.1:9100 --state data/demo.json [--scenario]
 */
#include "server/demo.h"
#include "runtime/common.h"
#include "runtime/config.h"
#include "tenants/identity.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    CURL *curl;
    const char *api, *sim;
    char csrf[80];
} demo_t;

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    oc_buf_append(arg, p, size * n);
    return size * n;
}

/* One JSON request; returns the answer (new reference, or NULL) and sets *status. */
static json_t *request(demo_t *d, const char *method, const char *base, const char *path, json_t *body, long *status)
{
    char url[1024];
    snprintf(url, sizeof(url), "%s%s", base, path);
    oc_buf_t out = {0};
    char *text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
    struct curl_slist *h = curl_slist_append(NULL, "content-type: application/json");
    char csrf[128];
    if (d->csrf[0] != '\0' && base == d->api) {
        snprintf(csrf, sizeof(csrf), "x-csrf-token: %s", d->csrf);
        h = curl_slist_append(h, csrf);
    }
    curl_easy_setopt(d->curl, CURLOPT_URL, url);
    curl_easy_setopt(d->curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(d->curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(d->curl, CURLOPT_POSTFIELDS, text != NULL ? text : (strcmp(method, "GET") == 0 ? NULL : ""));
    if (strcmp(method, "GET") == 0)
        curl_easy_setopt(d->curl, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(d->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(d->curl, CURLOPT_WRITEDATA, &out);
    CURLcode rc = curl_easy_perform(d->curl);
    *status = 0;
    if (rc == CURLE_OK)
        curl_easy_getinfo(d->curl, CURLINFO_RESPONSE_CODE, status);
    else
        fprintf(stderr, "demo: %s %s: %s\n", method, url, curl_easy_strerror(rc));
    curl_slist_free_all(h);
    free(text);
    json_t *j = out.len > 0 ? json_loadb(out.data, out.len, 0, NULL) : NULL;
    oc_buf_free(&out);
    return j;
}

/* A request that must succeed with `want` (0 = any 2xx); the answer, or NULL after saying why. */
static json_t *must(demo_t *d, const char *method, const char *base, const char *path, json_t *body, long want)
{
    long status;
    json_t *j = request(d, method, base, path, body, &status);
    json_decref(body);
    if ((want != 0 && status != want) || (want == 0 && (status < 200 || status > 299))) {
        char *t = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
        fprintf(stderr, "demo: %s %s answered %ld: %s\n", method, path, status, t != NULL ? t : "");
        free(t);
        json_decref(j);
        return NULL;
    }
    return j != NULL ? j : json_object();
}

static int save_state(const char *path, json_t *state)
{
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return -1;
    char *s = json_dumps(state, JSON_INDENT(2));
    ssize_t n = write(fd, s, strlen(s));
    int ok = n == (ssize_t)strlen(s) && fsync(fd) == 0;
    close(fd);
    free(s);
    return ok && rename(tmp, path) == 0 ? 0 : -1;
}

/* The portfolio and its administrator, straight into the database (like `admin create-*`). */
static json_t *create_owner(void)
{
    unsigned char raw[15];
    randombytes_buf(raw, sizeof(raw));
    char password[32];
    sodium_bin2base64(password, sizeof(password), raw, sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char hash[crypto_pwhash_STRBYTES];
    if (oc_password_hash(password, hash) != 0)
        return NULL;
    PGconn *pg = PQconnectdb(oc_config.database_url);
    if (PQstatus(pg) != CONNECTION_OK) {
        fprintf(stderr, "demo: cannot connect to PostgreSQL: %s", PQerrorMessage(pg));
        PQfinish(pg);
        return NULL;
    }
    const char *p[] = {"Demo Agency", "admin@demo.onecount.test", "Demo Admin", hash};
    PGresult *r = PQexecParams(pg,
                               "WITH p AS (INSERT INTO portfolios (name) VALUES ($1) RETURNING id),"
                               " u AS (INSERT INTO users (portfolio_id, email, name, password_hash)"
                               "       SELECT id, $2, $3, $4 FROM p RETURNING id, portfolio_id),"
                               " m AS (INSERT INTO memberships (user_id, portfolio_id, brand_id, role)"
                               "       SELECT id, portfolio_id, NULL, 'portfolio_admin' FROM u)"
                               " SELECT portfolio_id FROM u",
                               4, NULL, p, NULL, NULL, 0);
    json_t *state = NULL;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        state = json_pack("{s:s, s:s, s:s, s:[]}", "portfolio_id", PQgetvalue(r, 0, 0), "email", p[1], "password",
                          password, "brands");
    else
        fprintf(stderr, "demo: %s", PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(pg);
    sodium_memzero(password, sizeof(password));
    return state;
}

static const struct {
    const char *name;
    const char *skus[6];
    const char *titles[6];
    int stock[6];
    const char *bundle, *bundle_title;
    const char *parts[3];
} brands[] = {
    {"Northwind Outdoor",
     {"TENT-2P", "TENT-4P", "BAG-20L", "BAG-35L", "STOVE-MINI", "LAMP-LED"},
     {"Ridgeline 2-person backpacking tent", "Basecamp 4-person dome tent", "Summit 20 L daypack",
      "Traverse 35 L hiking pack", "Ember mini gas stove", "Glow 300 lm rechargeable LED lantern"},
     {40, 18, 120, 60, 35, 90},
     "KIT-CAMP",
     "Weekend camping kit: tent, stove and lantern",
     {"TENT-2P", "STOVE-MINI", "LAMP-LED"}},
    {"Lumen Skincare",
     {"SERUM-30", "CREAM-50", "CLEANSER", "TONER", "SPF-50", "MASK-3"},
     {"Vitamin C brightening serum, 30 ml", "Ceramide moisturising cream, 50 ml", "Gentle gel cleanser, 150 ml",
      "Rose hydrating toner, 200 ml", "Daily mineral sunscreen SPF 50, 50 ml", "Clay mask trio, 3 x 30 ml"},
     {150, 80, 200, 110, 60, 25},
     "SET-ROUTINE",
     "Morning routine set: cleanser, toner and cream",
     {"CLEANSER", "TONER", "CREAM-50"}},
    {"Copper & Pine Home",
     {"MUG-CU", "KETTLE-CU", "BOARD-OAK", "CANDLE-PINE", "THROW-WOOL", "TRAY-OAK"},
     {"Hammered copper mug, 400 ml", "Copper stovetop kettle, 1.5 L", "Oak chopping board, large",
      "Pine forest soy candle, 220 g", "Merino wool throw, charcoal", "Oak serving tray with handles"},
     {70, 12, 45, 160, 20, 30},
     "GIFT-COZY",
     "Cozy evening gift box: mug, candle and throw",
     {"MUG-CU", "CANDLE-PINE", "THROW-WOOL"}},
};

static const char *const kinds[] = {"shopify", "amazon", "walmart"};

/* The simulator account spec of a connection: fixed credentials so it can be made again. */
static json_t *sim_spec(const char *kind, int brand, json_t *skus)
{
    char hex[65], name[64];
    oc_random_hex(hex, 32);
    json_t *spec = json_pack("{s:s, s:O, s:I}", "channel", kind, "skus", skus, "seed", (json_int_t)(brand * 10 + 1));
    if (strcmp(kind, "shopify") == 0) {
        snprintf(name, sizeof(name), "demo-%d-%.6s", brand + 1, hex);
        json_object_set_new(spec, "name", json_string(name));
        json_object_set_new(spec, "client_id", json_sprintf("%.32s", hex));
        oc_random_hex(hex, 32);
        json_object_set_new(spec, "client_secret", json_sprintf("shpss_%.32s", hex));
    } else if (strcmp(kind, "amazon") == 0) {
        json_object_set_new(spec, "client_id", json_sprintf("amzn1.application-oa2-client.%.32s", hex));
        oc_random_hex(hex, 32);
        json_object_set_new(spec, "client_secret", json_sprintf("amzn1.oa2-cs.v1.%.32s", hex));
        oc_random_hex(hex, 32);
        json_object_set_new(spec, "refresh_token", json_sprintf("Atzr|%.32s", hex));
        json_object_set_new(spec, "seller_id", json_sprintf("ADEMO%d%.6s", brand + 1, hex));
        json_object_set_new(spec, "apply_delay_ms", json_integer(2000));
    } else {
        json_object_set_new(spec, "client_id",
                            json_sprintf("%.8s-%.4s-4%.3s-a%.3s-%.12s", hex, hex + 8, hex + 12, hex + 15, hex + 18));
        oc_random_hex(hex, 32);
        json_object_set_new(spec, "client_secret", json_string(hex));
    }
    return spec;
}

/* The connection body for a simulator account (settings and credentials as the channel needs). */
static json_t *connection_body(const char *kind, json_t *account)
{
    json_t *cred = json_object_get(account, "credentials");
    const char *base = json_string_value(json_object_get(account, "base_url"));
    json_t *settings = json_object(), *secrets = json_object();
    json_object_set(secrets, "client_id", json_object_get(cred, "client_id"));
    json_object_set(secrets, "client_secret", json_object_get(cred, "client_secret"));
    if (strcmp(kind, "shopify") == 0) {
        json_object_set(settings, "shop", json_object_get(cred, "shop_domain"));
        json_object_set_new(settings, "api_version", json_string("2026-01"));
        json_object_set_new(settings, "location_id",
                            json_sprintf("gid://shopify/Location/%lld",
                                         (long long)json_integer_value(json_object_get(cred, "location_id"))));
        json_object_set(secrets, "webhook_secret", json_object_get(cred, "webhook_secret"));
    } else if (strcmp(kind, "amazon") == 0) {
        json_object_set(settings, "seller_id", json_object_get(cred, "seller_id"));
        json_object_set_new(settings, "marketplace_ids", json_pack("[O]", json_object_get(cred, "marketplace_id")));
        json_object_set(settings, "token_url", json_object_get(cred, "token_url"));
        json_object_set(secrets, "refresh_token", json_object_get(cred, "refresh_token"));
    }
    json_object_set(settings, "sim_account", json_object_get(account, "id")); /* its request log: channel-log */
    return json_pack("{s:s, s:o, s:o}", "base_url", base, "settings", settings, "credentials", secrets);
}

static int first_run(demo_t *d, json_t *state, const char *state_path)
{
    const char *pid = json_string_value(json_object_get(state, "portfolio_id"));
    char path[512];
    for (size_t b = 0; b < OC_ARRAY_SIZE(brands); b++) {
        snprintf(path, sizeof(path), "/api/v1/portfolios/%s/brands", pid);
        json_t *br = must(d, "POST", d->api, path,
                          json_pack("{s:s, s:s}", "name", brands[b].name, "timezone", "America/New_York"), 201);
        if (br == NULL)
            return -1;
        const char *bid = json_string_value(json_object_get(br, "id"));
        json_t *skus = json_array(), *lines = json_array();
        for (int i = 0; i < 6; i++) {
            snprintf(path, sizeof(path), "/api/v1/brands/%s/skus", bid);
            json_decref(must(d, "POST", d->api, path,
                             json_pack("{s:s, s:s}", "code", brands[b].skus[i], "title", brands[b].titles[i]), 201));
            json_array_append_new(skus, json_pack("{s:s, s:i}", "sku", brands[b].skus[i], "quantity", 0));
            json_array_append_new(lines, json_pack("{s:s, s:i}", "sku", brands[b].skus[i], "qty", brands[b].stock[i]));
        }
        snprintf(path, sizeof(path), "/api/v1/brands/%s/bundles", bid);
        json_t *parts = json_array();
        for (int i = 0; i < 3; i++)
            json_array_append_new(parts, json_pack("{s:s, s:i}", "sku", brands[b].parts[i], "qty", 1));
        json_decref(must(d, "POST", d->api, path,
                         json_pack("{s:s, s:s, s:o}", "code", brands[b].bundle, "title", brands[b].bundle_title,
                                   "components", parts),
                         201));
        json_array_append_new(skus, json_pack("{s:s, s:i}", "sku", brands[b].bundle, "quantity", 0));
        snprintf(path, sizeof(path), "/api/v1/brands/%s/movements", bid);
        json_decref(must(d, "POST", d->api, path,
                         json_pack("{s:s, s:o, s:s}", "kind", "receipt", "lines", lines, "reason", "opening stock"),
                         0));
        json_t *conns = json_array();
        for (size_t k = 0; k < OC_ARRAY_SIZE(kinds); k++)
            json_array_append_new(conns,
                                  json_pack("{s:s, s:o}", "kind", kinds[k], "sim", sim_spec(kinds[k], (int)b, skus)));
        json_array_append_new(
            json_object_get(state, "brands"),
            json_pack("{s:s, s:s, s:o, s:b}", "id", bid, "name", brands[b].name, "connections", conns, "titled", 1));
        json_decref(skus);
        json_decref(br);
    }
    return save_state(state_path, state);
}

/* Creates the simulator accounts and points the connections at them (creating them the first time). */
static int wire(demo_t *d, json_t *state, const char *state_path)
{
    size_t i, j;
    json_t *brand, *c;
    char path[512];
    json_array_foreach(json_object_get(state, "brands"), i, brand)
    {
        const char *bid = json_string_value(json_object_get(brand, "id"));
        json_array_foreach(json_object_get(brand, "connections"), j, c)
        {
            const char *kind = json_string_value(json_object_get(c, "kind"));
            json_t *acct = must(d, "POST", d->sim, "/_sim/accounts", json_incref(json_object_get(c, "sim")), 201);
            if (acct == NULL)
                return -1;
            json_t *body = connection_body(kind, acct);
            const char *cid = json_string_value(json_object_get(c, "id"));
            json_t *conn;
            if (cid == NULL) {
                static const char *const names[] = {"Shopify store", "Amazon", "Walmart"};
                json_object_set_new(body, "kind", json_string(kind));
                json_object_set_new(body, "name", json_string(names[j % 3]));
                snprintf(path, sizeof(path), "/api/v1/brands/%s/connections", bid);
                conn = must(d, "POST", d->api, path, body, 201);
                if (conn == NULL)
                    return -1;
                json_object_set(c, "id", json_object_get(conn, "id"));
                cid = json_string_value(json_object_get(c, "id"));
                snprintf(path, sizeof(path), "/api/v1/brands/%s/connections/%s/automap", bid, cid);
                json_decref(must(d, "POST", d->api, path, json_object(), 200));
                if (save_state(state_path, state) != 0)
                    return -1;
            } else {
                /* the simulator's address changes between runs; the credentials are the same */
                json_object_del(body, "credentials");
                snprintf(path, sizeof(path), "/api/v1/brands/%s/connections/%s", bid, cid);
                conn = must(d, "PATCH", d->api, path, body, 200);
                if (conn == NULL)
                    return -1;
            }
            json_decref(conn);
            char acct_path[128];
            int aid = (int)json_integer_value(json_object_get(acct, "id"));
            json_object_set_new(c, "sim_id", json_integer(aid)); /* this run's account, for --scenario */
            if (strcmp(kind, "shopify") == 0) {
                char hook[512];
                snprintf(hook, sizeof(hook), "%s/api/v1/webhooks/shopify/%s/%s", d->api, bid, cid);
                snprintf(acct_path, sizeof(acct_path), "/_sim/accounts/%d", aid);
                json_decref(must(d, "PATCH", d->sim, acct_path,
                                 json_pack("{s:{s:s, s:i}}", "webhook", "url", hook, "retry_base_ms", 5000), 0));
            }
            /* a slow, steady stream of orders with realistic lifecycles */
            snprintf(acct_path, sizeof(acct_path), "/_sim/accounts/%d/generator", aid);
            json_decref(must(d, "PUT", d->sim, acct_path,
                             json_pack("{s:{s:i}, s:{s:i, s:i}, s:b, s:{s:f, s:i, s:i, s:f, s:i}}", "all", "per_hour",
                                       4, "units_per_order", "min", 1, "max", 2, "running", 1, "lifecycle",
                                       "cancel_fraction", 0.05, "cancel_after_ms", 30000, "fulfill_after_ms", 90000,
                                       "return_fraction", 0.03, "return_after_ms", 300000),
                             0));
            json_decref(acct);
        }
        /* every channel gets the current numbers now */
        snprintf(path, sizeof(path), "/api/v1/brands/%s/routines", bid);
        json_t *routines = must(d, "GET", d->api, path, NULL, 200);
        json_t *r;
        json_array_foreach(routines, j, r)
        {
            const char *k = json_string_value(json_object_get(r, "kind"));
            if (strcmp(k, "full_repush") != 0 && strcmp(k, "poll_orders") != 0)
                continue;
            snprintf(path, sizeof(path), "/api/v1/brands/%s/routines/%s/run", bid,
                     json_string_value(json_object_get(r, "id")));
            json_decref(must(d, "POST", d->api, path, json_object(), 200));
        }
        json_decref(routines);
    }
    return save_state(state_path, state);
}

/* Demo states made before SKUs had titles get them (once). */
static int add_titles(demo_t *d, json_t *state, const char *state_path)
{
    size_t i;
    json_t *brand;
    char path[512];
    int changed = 0;
    json_array_foreach(json_object_get(state, "brands"), i, brand)
    {
        if (json_is_true(json_object_get(brand, "titled")) || i >= OC_ARRAY_SIZE(brands))
            continue;
        const char *bid = json_string_value(json_object_get(brand, "id"));
        for (int k = 0; k < 7; k++) {
            snprintf(path, sizeof(path), "/api/v1/brands/%s/skus/%s", bid,
                     k < 6 ? brands[i].skus[k] : brands[i].bundle);
            json_decref(must(d, "PATCH", d->api, path,
                             json_pack("{s:s}", "title", k < 6 ? brands[i].titles[k] : brands[i].bundle_title), 200));
        }
        json_object_set_new(brand, "titled", json_true());
        changed = 1;
    }
    return changed ? save_state(state_path, state) : 0;
}

/* --- the scenario: the first minutes of a bad week ---------------------------------------------- */

/* The brand's id, and the simulator account of its connection of `kind` (this run's). */
static const char *brand_id(json_t *state, size_t b)
{
    return json_string_value(json_object_get(json_array_get(json_object_get(state, "brands"), b), "id"));
}

static json_t *connection_of(json_t *state, size_t b, const char *kind)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(json_array_get(json_object_get(state, "brands"), b), "connections"), i, c)
    {
        if (strcmp(json_string_value(json_object_get(c, "kind")), kind) == 0)
            return c;
    }
    return NULL;
}

static void sim_path(char *out, size_t n, json_t *state, size_t b, const char *kind, const char *tail)
{
    snprintf(out, n, "/_sim/accounts/%lld%s",
             (long long)json_integer_value(json_object_get(connection_of(state, b, kind), "sim_id")), tail);
}

/* Asks the brand's routine of `kind` (on the connection of `conn_kind`, or brand-wide when NULL) to run now. */
static void run_now(demo_t *d, json_t *state, size_t b, const char *kind, const char *conn_kind)
{
    char path[512];
    const char *bid = brand_id(state, b);
    const char *cid =
        conn_kind != NULL ? json_string_value(json_object_get(connection_of(state, b, conn_kind), "id")) : NULL;
    snprintf(path, sizeof(path), "/api/v1/brands/%s/routines", bid);
    json_t *routines = must(d, "GET", d->api, path, NULL, 200);
    size_t i;
    json_t *r;
    json_array_foreach(routines, i, r)
    {
        const char *rc = json_string_value(json_object_get(r, "connection_id"));
        if (strcmp(json_string_value(json_object_get(r, "kind")), kind) != 0 || (cid != NULL) != (rc != NULL) ||
            (cid != NULL && strcmp(cid, rc) != 0))
            continue;
        snprintf(path, sizeof(path), "/api/v1/brands/%s/routines/%s/run", bid,
                 json_string_value(json_object_get(r, "id")));
        json_decref(must(d, "POST", d->api, path, json_object(), 200));
    }
    json_decref(routines);
}

/* What onecount has available of a SKU now (0 when it cannot tell). */
static long long available(demo_t *d, json_t *state, size_t b, const char *sku)
{
    char path[512];
    snprintf(path, sizeof(path), "/api/v1/brands/%s/skus/%s", brand_id(state, b), sku);
    json_t *j = must(d, "GET", d->api, path, NULL, 200);
    long long n = (long long)json_integer_value(json_object_get(j, "available"));
    json_decref(j);
    return n;
}

/* A channel sells `extra` more units of a SKU than onecount has: the channel took the orders anyway. */
static void oversell(demo_t *d, json_t *state, size_t b, const char *kind, const char *sku, long long extra)
{
    char path[512];
    long long n = available(d, state, b, sku) + extra;
    sim_path(path, sizeof(path), state, b, kind, "/orders");
    json_decref(must(d, "POST", d->sim, path,
                     json_pack("{s:s, s:I, s:b}", "sku", sku, "quantity", (json_int_t)n, "force", 1), 201));
    run_now(d, state, b, "poll_orders", kind);
    printf("scenario: %s oversold %lld x %s on %s\n", brands[b].name, n, sku, kind);
}

static int scenario(demo_t *d, json_t *state)
{
    char path[512];
    if (json_array_size(json_object_get(state, "brands")) < OC_ARRAY_SIZE(brands))
        return -1;
    setvbuf(stdout, NULL, _IOLBF, 0);
    sleep(15);
    /* Northwind: Walmart sells two more Basecamp tents than there are. */
    oversell(d, state, 0, "walmart", "TENT-4P", 2);
    /* Lumen: Amazon goes down (503 on every call) for four minutes. */
    sim_path(path, sizeof(path), state, 1, "amazon", "/faults");
    json_decref(must(d, "PUT", d->sim, path, json_pack("{s:f, s:i}", "error_rate", 1.0, "error_status", 503), 0));
    printf("scenario: %s's Amazon is unavailable (503) for four minutes\n", brands[1].name);
    sleep(15);
    /* Northwind: the shop sells a colour nobody mapped. */
    sim_path(path, sizeof(path), state, 0, "shopify", "/stock");
    json_decref(must(d, "PUT", d->sim, path, json_pack("{s:i}", "TENT-2P-OLIVE", 6), 0));
    sim_path(path, sizeof(path), state, 0, "shopify", "/orders");
    json_decref(must(d, "POST", d->sim, path, json_pack("{s:s, s:i}", "sku", "TENT-2P-OLIVE", "quantity", 1), 201));
    run_now(d, state, 0, "poll_orders", "shopify");
    printf("scenario: %s's shop sold TENT-2P-OLIVE, which no listing maps\n", brands[0].name);
    /* Copper & Pine: Amazon refuses every push of the kettle; a delivery makes one necessary. */
    sim_path(path, sizeof(path), state, 2, "amazon", "/faults");
    json_decref(must(d, "PUT", d->sim, path,
                     json_pack("{s:f, s:i, s:s}", "error_rate", 1.0, "error_status", 500, "match", "/KETTLE-CU"), 0));
    snprintf(path, sizeof(path), "/api/v1/brands/%s/movements", brand_id(state, 2));
    json_decref(must(d, "POST", d->api, path,
                     json_pack("{s:s, s:[{s:s, s:i}], s:s}", "kind", "receipt", "lines", "sku", "KETTLE-CU", "qty", 4,
                               "reference", "workshop delivery"),
                     201));
    printf("scenario: %s's kettle cannot reach Amazon; stuck once the worker's stuck_after_seconds pass\n",
           brands[2].name);
    sleep(15);
    /* Lumen: a cycle count finds 4 clay mask trios, and the shop sells 3 of them. */
    snprintf(path, sizeof(path), "/api/v1/brands/%s/movements", brand_id(state, 1));
    json_decref(must(d, "POST", d->api, path,
                     json_pack("{s:s, s:[{s:s, s:i}], s:s}", "kind", "count", "lines", "sku", "MASK-3", "qty", 4,
                               "reason", "cycle count"),
                     201));
    sim_path(path, sizeof(path), state, 1, "shopify", "/orders");
    for (int i = 0; i < 3; i++)
        json_decref(must(d, "POST", d->sim, path,
                         json_pack("{s:s, s:i, s:b}", "sku", "MASK-3", "quantity", 1, "force", 1), 201));
    run_now(d, state, 1, "poll_orders", "shopify");
    /* Copper & Pine: the shop sells more wool throws than there are. */
    oversell(d, state, 2, "shopify", "THROW-WOOL", 1);
    sleep(20);
    run_now(d, state, 1, "velocity", NULL);
    sleep(5);
    run_now(d, state, 1, "low_stock", NULL);
    printf("scenario: %s's clay mask trio is low: a few days of cover\n", brands[1].name);
    sleep(170);
    sim_path(path, sizeof(path), state, 1, "amazon", "/faults");
    json_decref(must(d, "DELETE", d->sim, path, NULL, 0));
    printf("scenario: %s's Amazon is back\n", brands[1].name);
    return 0;
}

int oc_demo_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"api", required_argument, NULL, 'a'},
        {"sim", required_argument, NULL, 's'},
        {"state", required_argument, NULL, 'f'},
        {"scenario", no_argument, NULL, 'x'},
        {NULL, 0, NULL, 0},
    };
    const char *api = NULL, *sim = NULL, *state_path = NULL;
    int c, play = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'a': api = optarg; break;
        case 's': sim = optarg; break;
        case 'f': state_path = optarg; break;
        case 'x': play = 1; break;
        default: return 2;
        }
    }
    if (api == NULL || sim == NULL || state_path == NULL) {
        fprintf(stderr, "usage: onecount demo --api URL --sim URL --state FILE [--scenario]\n");
        return 2;
    }
    json_t *state = json_load_file(state_path, 0, NULL);
    int fresh = state == NULL;
    if (play && fresh) {
        fprintf(stderr, "demo: --scenario needs the demo wired first (no %s)\n", state_path);
        return 1;
    }
    if (fresh) {
        state = create_owner();
        if (state == NULL || save_state(state_path, state) != 0) {
            fprintf(stderr, "demo: cannot create the demo portfolio or write %s\n", state_path);
            json_decref(state);
            return 1;
        }
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    demo_t d = {.curl = curl_easy_init(), .api = api, .sim = sim};
    curl_easy_setopt(d.curl, CURLOPT_COOKIEFILE, ""); /* keep the session cookie in memory */
    curl_easy_setopt(d.curl, CURLOPT_TIMEOUT, 30L);
    int rc = 1;
    json_t *me = must(&d, "POST", api, "/api/v1/auth/login",
                      json_pack("{s:O, s:O}", "email", json_object_get(state, "email"), "password",
                                json_object_get(state, "password")),
                      200);
    if (me != NULL) {
        snprintf(d.csrf, sizeof(d.csrf), "%s", json_string_value(json_object_get(me, "csrf_token")));
        json_decref(me);
        if (play)
            rc = scenario(&d, state) == 0 ? 0 : 1;
        else if ((json_array_size(json_object_get(state, "brands")) > 0 || first_run(&d, state, state_path) == 0) &&
                 add_titles(&d, state, state_path) == 0 && wire(&d, state, state_path) == 0)
            rc = 0;
    }
    if (rc == 0 && !play)
        printf("demo portfolio ready: sign in as %s with password %s\n",
               json_string_value(json_object_get(state, "email")),
               json_string_value(json_object_get(state, "password")));
    curl_easy_cleanup(d.curl);
    curl_global_cleanup();
    json_decref(state);
    return rc;
}
