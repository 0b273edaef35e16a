/*
 * holds.c — the Redis side of holds, their group commit into PostgreSQL,
 * and the expiry sweeper (see holds.h).
 *
 * Keys, all tagged with the brand so one brand's keys share a cluster slot:
 *   oc:{t}:b:<sku>   "<version> <on_hand - committed>" from PostgreSQL (5 min TTL)
 *   oc:{t}:h:<sku>   units held by the holds in oc:{t}:holds
 *   oc:{t}:e:<sku>   sorted set: hold ids by the time they stop counting (ms):
 *                    their expiry once committed, at most OC_HOLD_PENDING_MS
 *                    after the reservation until then
 *   oc:{t}:holds     hash: hold id -> "<expires_ms>|<sku>:<qty>,…"
 */
#include "tenants/holds.h"
#include "runtime/log.h"
#include "runtime/metrics.h"

#include <stdio.h>
#include <stdlib.h>

/* Releases one hold's units: shared by the scripts below. */
#define LUA_RELEASE                                                                                                    \
    "local function release(prefix, hk, hid)\n"                                                                        \
    "  local spec = redis.call('HGET', hk, hid)\n"                                                                     \
    "  if not spec then return nil end\n"                                                                              \
    "  local body = string.match(spec, '^%d+|([^|]*)') or ''\n"                                                        \
    "  for sku, q in string.gmatch(body, '(%d+):(%d+)') do\n"                                                          \
    "    local hkey = prefix .. 'h:' .. sku\n"                                                                         \
    "    if redis.call('EXISTS', hkey) == 1 then redis.call('DECRBY', hkey, q) end\n"                                  \
    "    redis.call('ZREM', prefix .. 'e:' .. sku, hid)\n"                                                             \
    "  end\n"                                                                                                          \
    "  redis.call('HDEL', hk, hid)\n"                                                                                  \
    "  return spec\n"                                                                                                  \
    "end\n"

/* KEYS: per SKU (base, held, exp) ..., holds hash.
 * ARGV: now_ms, id, counts_until_ms, spec, prefix, then per SKU: sku, qty. */
static oc_redis_script_t reserve_script = {
    LUA_RELEASE "local now, id, exp, spec, prefix = tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4], ARGV[5]\n"
                "local n = (#KEYS - 1) / 3\n"
                "local hk = KEYS[#KEYS]\n"
                "for i = 0, n - 1 do\n"
                "  for _, hid in ipairs(redis.call('ZRANGEBYSCORE', KEYS[i * 3 + 3], '-inf', now)) do\n"
                "    if not release(prefix, hk, hid) then redis.call('ZREM', KEYS[i * 3 + 3], hid) end\n"
                "  end\n"
                "end\n"
                "local miss = {}\n"
                "for i = 0, n - 1 do\n"
                "  if redis.call('EXISTS', KEYS[i * 3 + 1]) == 0 or redis.call('EXISTS', KEYS[i * 3 + 2]) == 0 then\n"
                "    miss[#miss + 1] = ARGV[6 + i * 2]\n"
                "  end\n"
                "end\n"
                "if #miss > 0 then return {'MISS', unpack(miss)} end\n"
                "if redis.call('HEXISTS', hk, id) == 1 then return {'DUPLICATE'} end\n"
                "for i = 0, n - 1 do\n"
                "  local base = tonumber(string.match(redis.call('GET', KEYS[i * 3 + 1]), ' (%-?%d+)$'))\n"
                "  local held = tonumber(redis.call('GET', KEYS[i * 3 + 2]))\n"
                "  if base - held < tonumber(ARGV[7 + i * 2]) then\n"
                "    return {'INSUFFICIENT', ARGV[6 + i * 2], tostring(base - held)}\n"
                "  end\n"
                "end\n"
                "for i = 0, n - 1 do\n"
                "  redis.call('INCRBY', KEYS[i * 3 + 2], ARGV[7 + i * 2])\n"
                "  redis.call('ZADD', KEYS[i * 3 + 3], exp, id)\n"
                "end\n"
                "redis.call('HSET', hk, id, spec)\n"
                "return {'OK'}\n"};

/* KEYS: holds hash.  ARGV: id, prefix.  Returns the spec, or nil. */
static oc_redis_script_t release_script = {LUA_RELEASE "return release(ARGV[2], KEYS[1], ARGV[1])\n"};

/* KEYS: base, held, exp, holds hash.  ARGV: version, base, held, then (id, expires_ms, spec)*. */
static oc_redis_script_t fill_script = {"local cur = redis.call('GET', KEYS[1])\n"
                                        "if not cur or tonumber(string.match(cur, '^(%d+)')) < tonumber(ARGV[1]) then\n"
                                        "  redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. ARGV[2], 'EX', 300)\n"
                                        "end\n"
                                        "if redis.call('EXISTS', KEYS[2]) == 0 then\n"
                                        "  redis.call('SET', KEYS[2], ARGV[3])\n"
                                        "  for i = 4, #ARGV, 3 do\n"
                                        "    redis.call('ZADD', KEYS[3], ARGV[i + 1], ARGV[i])\n"
                                        "    redis.call('HSETNX', KEYS[4], ARGV[i], ARGV[i + 2])\n"
                                        "  end\n"
                                        "end\n"
                                        "return 1\n"};

/* KEYS: base.  ARGV: version, base.  Updates only a cached, older value. */
static oc_redis_script_t set_base_script = {
    "local cur = redis.call('GET', KEYS[1])\n"
    "if cur and tonumber(string.match(cur, '^(%d+)')) < tonumber(ARGV[1]) then\n"
    "  redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. ARGV[2], 'KEEPTTL')\n"
    "end\n"
    "return 1\n"};

/* Makes Redis's entry for each hold exactly its spec, counted once: whatever
 * the id had is released first (a reservation of other lines under a reused
 * Idempotency-Key, an entry a rebuild already counted), then the spec is
 * counted, with the hold's real expiry.  KEYS: holds hash.
 * ARGV: prefix, then (id, expires_ms, spec)*. */
static oc_redis_script_t settle_script = {LUA_RELEASE "local prefix, hk = ARGV[1], KEYS[1]\n"
                                                      "for i = 2, #ARGV, 3 do\n"
                                                      "  local id, exp, spec = ARGV[i], ARGV[i + 1], ARGV[i + 2]\n"
                                                      "  release(prefix, hk, id)\n"
                                                      "  local body = string.match(spec, '^%d+|([^|]*)') or ''\n"
                                                      "  for sku, q in string.gmatch(body, '(%d+):(%d+)') do\n"
                                                      "    local hkey = prefix .. 'h:' .. sku\n"
                                                      "    if redis.call('EXISTS', hkey) == 1 then\n"
                                                      "      redis.call('INCRBY', hkey, q)\n"
                                                      "    end\n"
                                                      "    redis.call('ZADD', prefix .. 'e:' .. sku, exp, id)\n"
                                                      "  end\n"
                                                      "  redis.call('HSET', hk, id, spec)\n"
                                                      "end\n"
                                                      "return 1\n"};

#define RESERVE(r) OC_RESULT_COUNTER("onecount_hold_reservations_total", "Redis hold reservations by result.", r)
static oc_metric_t m_reserve_ok = RESERVE("ok"), m_reserve_short = RESERVE("insufficient"),
                   m_reserve_miss = RESERVE("cache_rebuild"), m_reserve_down = RESERVE("redis_unavailable");
#undef RESERVE
static oc_metric_t m_commit_pending = {"onecount_hold_commit_pending",
                                       "Holds reserved in Redis waiting for their commit in PostgreSQL.", NULL,
                                       OC_METRIC_GAUGE};
static oc_metric_t m_commit_short = {"onecount_hold_commit_refused_total",
                                     "Holds Redis reserved that PostgreSQL's balances refused.", NULL,
                                     OC_METRIC_COUNTER};
static oc_metric_t m_expired = {"onecount_holds_expired_total", "Holds ended by the expiry sweeper.", NULL,
                                OC_METRIC_COUNTER};

void oc_holds_init(void)
{
    oc_redis_script_t *scripts[] = {&reserve_script, &release_script, &fill_script, &set_base_script, &settle_script};
    for (size_t i = 0; i < OC_ARRAY_SIZE(scripts); i++)
        oc_redis_script_init(scripts[i]);
    oc_metric_t *all[] = {&m_reserve_ok,     &m_reserve_short, &m_reserve_miss, &m_reserve_down,
                          &m_commit_pending, &m_commit_short,  &m_expired};
    for (size_t i = 0; i < OC_ARRAY_SIZE(all); i++)
        oc_metrics_register(all[i]);
}

static void key(char *out, size_t cap, const char *tenant, const char *kind, long long sku)
{
    if (sku >= 0)
        snprintf(out, cap, "oc:{%s}:%s:%lld", tenant, kind, sku);
    else
        snprintf(out, cap, "oc:{%s}:%s", tenant, kind);
}

static void ignore_reply(void *arg, const char *err, redisReply *reply)
{
}

/* --- reserve ------------------------------------------------------------------ */

typedef struct {
    oc_thread_t *th;
    char tenant[37], id[64];
    int n;
    long long sku[OC_HOLD_MAX_SKUS], qty[OC_HOLD_MAX_SKUS];
    uint64_t expires_ms;
    int rounds;        /* reservation attempts sent */
    int pending_fills; /* cache rebuilds awaiting their reply */
    oc_reserve_cb cb;
    void *arg;
} reserve_t;

static void reserve_send(reserve_t *rv);

static void reserve_done(reserve_t *rv, oc_reserve_result_t result, long long sku, long long avail)
{
    oc_reserve_outcome_t out = {result, sku, avail};
    rv->cb(rv->arg, &out);
    free(rv);
}

/* Rebuilding a SKU's cache entry from PostgreSQL: balances and active holds. */
OC_DB_STMT(holds_fill_data, 2,
           "SELECT s.sku_id, s.version, s.on_hand - s.committed, s.held,"
           " coalesce((SELECT json_agg(json_build_array(h.id, (extract(epoch FROM h.expires_at) * 1000)::bigint,"
           "   h.lines)) FROM holds h WHERE h.tenant_id = s.tenant_id AND h.state = 'active'"
           "   AND h.lines @> jsonb_build_array(jsonb_build_object('sku_id', s.sku_id))), '[]')"
           " FROM stock s WHERE s.tenant_id = $1 AND s.sku_id = ANY ($2::bigint[])");

/*
 * The hold record Redis keeps (oc:{t}:holds): "<expires_ms>|<sku>:<qty>,…",
 * written here and only here; read by LUA_RELEASE and settle_script (Lua
 * patterns '^%d+|' and '(%d+):(%d+)') and by spec_expiry().
 */
static void spec_begin(oc_buf_t *out, unsigned long long expires_ms)
{
    oc_buf_printf(out, "%llu|", expires_ms);
}

static void spec_add(oc_buf_t *out, int i, long long sku, long long qty)
{
    oc_buf_printf(out, "%s%lld:%lld", i ? "," : "", sku, qty);
}

static unsigned long long spec_expiry(const char *spec)
{
    return strtoull(spec, NULL, 10);
}

/* The record of a hold stored in PostgreSQL: its lines as [{sku_id, qty}]. */
static void spec_of_lines(json_t *lines, long long expires_ms, oc_buf_t *out)
{
    spec_begin(out, (unsigned long long)expires_ms);
    size_t i;
    json_t *l;
    json_array_foreach(lines, i, l)
    {
        spec_add(out, (int)i, (long long)json_integer_value(json_object_get(l, "sku_id")),
                 (long long)json_integer_value(json_object_get(l, "qty")));
    }
}

static void on_fill_reply(void *arg, const char *err, redisReply *reply)
{
    reserve_t *rv = arg;
    if (--rv->pending_fills > 0)
        return; /* wait for every fill of this round */
    reserve_send(rv);
}

static void on_fill_data(void *arg, const oc_db_result_t *res)
{
    reserve_t *rv = arg;
    if (res->err != NULL) {
        reserve_done(rv, OC_RESERVE_ERROR, 0, 0);
        return;
    }
    const PGresult *r = res->results[0];
    int rows = PQntuples(r);
    if (rows == 0) {
        reserve_done(rv, OC_RESERVE_ERROR, 0, 0);
        return;
    }
    rv->pending_fills = rows;
    int sent = 0;
    for (int i = 0; i < rows; i++) {
        long long sku = strtoll(PQgetvalue(r, i, 0), NULL, 10);
        char kb[128], kh[128], ke[128], kk[128];
        key(kb, sizeof(kb), rv->tenant, "b", sku);
        key(kh, sizeof(kh), rv->tenant, "h", sku);
        key(ke, sizeof(ke), rv->tenant, "e", sku);
        key(kk, sizeof(kk), rv->tenant, "holds", -1);
        json_t *holds = json_loads(PQgetvalue(r, i, 4), 0, NULL);
        size_t nh = json_array_size(holds);
        int argc = 4 + 3 + (int)nh * 3;
        const char **argv = oc_calloc((size_t)argc, sizeof(char *));
        char **owned = oc_calloc(nh * 3 + 1, sizeof(char *));
        argv[0] = kb, argv[1] = kh, argv[2] = ke, argv[3] = kk;
        argv[4] = PQgetvalue(r, i, 1);
        argv[5] = PQgetvalue(r, i, 2);
        argv[6] = PQgetvalue(r, i, 3);
        for (size_t h = 0; h < nh; h++) {
            json_t *e = json_array_get(holds, h);
            long long exp = (long long)json_integer_value(json_array_get(e, 1));
            oc_buf_t spec = {0};
            spec_of_lines(json_array_get(e, 2), exp, &spec);
            char expbuf[32];
            snprintf(expbuf, sizeof(expbuf), "%lld", exp);
            owned[h * 3] = oc_strdup(json_string_value(json_array_get(e, 0)));
            owned[h * 3 + 1] = oc_strdup(expbuf);
            owned[h * 3 + 2] = oc_strdup(oc_buf_cstr(&spec));
            oc_buf_free(&spec);
            argv[7 + h * 3] = owned[h * 3];
            argv[7 + h * 3 + 1] = owned[h * 3 + 1];
            argv[7 + h * 3 + 2] = owned[h * 3 + 2];
        }
        if (oc_redis_eval(rv->th->redis, &fill_script, on_fill_reply, rv, 4, argc, argv, NULL) == 0)
            sent++;
        else
            rv->pending_fills--;
        for (size_t h = 0; h < nh * 3; h++)
            free(owned[h]);
        free(owned);
        free(argv);
        json_decref(holds);
    }
    if (sent == 0)
        reserve_done(rv, OC_RESERVE_UNAVAILABLE, 0, 0);
}

static void on_reserve_reply(void *arg, const char *err, redisReply *reply)
{
    reserve_t *rv = arg;
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements < 1) {
        oc_metric_add(&m_reserve_down, 1);
        reserve_done(rv, OC_RESERVE_UNAVAILABLE, 0, 0);
        return;
    }
    const char *tag = reply->element[0]->str;
    if (strcmp(tag, "OK") == 0) {
        oc_metric_add(&m_reserve_ok, 1);
        reserve_done(rv, OC_RESERVE_OK, 0, 0);
    } else if (strcmp(tag, "INSUFFICIENT") == 0 && reply->elements >= 3) {
        oc_metric_add(&m_reserve_short, 1);
        reserve_done(rv, OC_RESERVE_INSUFFICIENT, strtoll(reply->element[1]->str, NULL, 10),
                     strtoll(reply->element[2]->str, NULL, 10));
    } else if (strcmp(tag, "MISS") == 0 && rv->rounds == 1) {
        /* Rebuild the missing entries from PostgreSQL, then try once more. */
        oc_metric_add(&m_reserve_miss, 1);
        oc_buf_t arr = {0};
        for (size_t i = 1; i < reply->elements; i++)
            oc_db_array_add(&arr, reply->element[i]->str);
        const char *params[2] = {rv->tenant, oc_db_array_end(&arr)};
        int rc = oc_db_exec(rv->th->db, rv->tenant, &holds_fill_data, params, on_fill_data, rv);
        oc_buf_free(&arr);
        if (rc != 0)
            reserve_done(rv, OC_RESERVE_ERROR, 0, 0);
    } else if (strcmp(tag, "DUPLICATE") == 0) {
        reserve_done(rv, OC_RESERVE_DUPLICATE, 0, 0);
    } else {
        reserve_done(rv, OC_RESERVE_ERROR, 0, 0);
    }
}

static void reserve_send(reserve_t *rv)
{
    rv->rounds++;
    char keys[OC_HOLD_MAX_SKUS * 3 + 1][96];
    char nums[OC_HOLD_MAX_SKUS * 2][24];
    const char *argv[OC_HOLD_MAX_SKUS * 3 + 1 + 5 + OC_HOLD_MAX_SKUS * 2];
    int k = 0;
    for (int i = 0; i < rv->n; i++) {
        key(keys[i * 3], sizeof(keys[0]), rv->tenant, "b", rv->sku[i]);
        key(keys[i * 3 + 1], sizeof(keys[0]), rv->tenant, "h", rv->sku[i]);
        key(keys[i * 3 + 2], sizeof(keys[0]), rv->tenant, "e", rv->sku[i]);
        argv[k++] = keys[i * 3], argv[k++] = keys[i * 3 + 1], argv[k++] = keys[i * 3 + 2];
    }
    key(keys[rv->n * 3], sizeof(keys[0]), rv->tenant, "holds", -1);
    argv[k++] = keys[rv->n * 3];
    int nkeys = k;
    char now[24], exp[24], prefix[64];
    uint64_t now_ms = oc_now_ms(), counts_until = now_ms + OC_HOLD_PENDING_MS;
    if (counts_until > rv->expires_ms)
        counts_until = rv->expires_ms;
    snprintf(now, sizeof(now), "%llu", (unsigned long long)now_ms);
    snprintf(exp, sizeof(exp), "%llu", (unsigned long long)counts_until);
    snprintf(prefix, sizeof(prefix), "oc:{%s}:", rv->tenant);
    oc_buf_t spec = {0};
    spec_begin(&spec, rv->expires_ms);
    for (int i = 0; i < rv->n; i++)
        spec_add(&spec, i, rv->sku[i], rv->qty[i]);
    argv[k++] = now, argv[k++] = rv->id, argv[k++] = exp, argv[k++] = oc_buf_cstr(&spec), argv[k++] = prefix;
    for (int i = 0; i < rv->n; i++) {
        snprintf(nums[i * 2], sizeof(nums[0]), "%lld", rv->sku[i]);
        snprintf(nums[i * 2 + 1], sizeof(nums[0]), "%lld", rv->qty[i]);
        argv[k++] = nums[i * 2], argv[k++] = nums[i * 2 + 1];
    }
    int rc = oc_redis_eval(rv->th->redis, &reserve_script, on_reserve_reply, rv, nkeys, k, argv, NULL);
    oc_buf_free(&spec);
    if (rc != 0) {
        oc_metric_add(&m_reserve_down, 1);
        /* Never call back synchronously: defer through a zero timer. */
        reserve_done(rv, OC_RESERVE_UNAVAILABLE, 0, 0);
    }
}

void oc_holds_reserve(oc_thread_t *th, const char *tenant, const char *id, const long long *sku, const long long *qty,
                      int n, uint64_t expires_ms, oc_reserve_cb cb, void *arg)
{
    reserve_t *rv = oc_calloc(1, sizeof(*rv));
    rv->th = th;
    oc_strlcpy(rv->tenant, tenant, strlen(tenant), sizeof(rv->tenant));
    oc_strlcpy(rv->id, id, strlen(id), sizeof(rv->id));
    rv->n = n > OC_HOLD_MAX_SKUS ? OC_HOLD_MAX_SKUS : n;
    memcpy(rv->sku, sku, sizeof(long long) * (size_t)rv->n);
    memcpy(rv->qty, qty, sizeof(long long) * (size_t)rv->n);
    rv->expires_ms = expires_ms;
    rv->cb = cb;
    rv->arg = arg;
    reserve_send(rv);
}

typedef struct {
    void (*done)(void *arg);
    void *arg;
} released_t;

static void on_released(void *arg, const char *err, redisReply *reply)
{
    released_t *d = arg;
    d->done(d->arg);
    free(d);
}

void oc_holds_release_redis(oc_thread_t *th, const char *tenant, const char *id, void (*done)(void *arg), void *arg)
{
    char hk[96], prefix[64];
    key(hk, sizeof(hk), tenant, "holds", -1);
    snprintf(prefix, sizeof(prefix), "oc:{%s}:", tenant);
    const char *argv[] = {hk, id, prefix};
    released_t *d = done != NULL ? oc_malloc(sizeof(*d)) : NULL;
    if (d != NULL)
        *d = (released_t){done, arg};
    if (oc_redis_eval(th->redis, &release_script, d != NULL ? on_released : ignore_reply, d, 1, 3, argv, NULL) != 0) {
        free(d);
        if (done != NULL)
            done(arg);
    }
}

typedef struct {
    void (*done)(void *arg);
    void *arg;
    size_t left; /* replies awaited, plus one while sending */
} bases_t;

static void on_base_set(void *arg, const char *err, redisReply *reply)
{
    bases_t *b = arg;
    if (--b->left > 0)
        return;
    if (b->done != NULL)
        b->done(b->arg);
    free(b);
}

void oc_holds_set_bases(oc_redis_t *redis, const char *tenant, const long long *bases, size_t n,
                        void (*done)(void *arg), void *arg)
{
    bases_t *b = oc_malloc(sizeof(*b));
    *b = (bases_t){done, arg, 1};
    for (size_t i = 0; i < n; i++) {
        char kb[96], v[24], base[24];
        key(kb, sizeof(kb), tenant, "b", bases[3 * i]);
        snprintf(v, sizeof(v), "%lld", bases[3 * i + 1]);
        snprintf(base, sizeof(base), "%lld", bases[3 * i + 2]);
        const char *argv[] = {kb, v, base};
        if (oc_redis_eval(redis, &set_base_script, on_base_set, b, 1, 3, argv, NULL) == 0)
            b->left++;
    }
    on_base_set(b, NULL, NULL); /* the sending is over */
}

void oc_holds_publish_balances(oc_redis_t *redis, const char *tenant, json_t *answer, void (*done)(void *arg),
                               void *arg)
{
    json_t *all = json_object_get(answer, "balances"), *b;
    long long *bases = oc_calloc(json_array_size(all) + 1, 3 * sizeof(long long));
    size_t i, n = 0;
    json_array_foreach(all, i, b)
    {
        json_t *sku = json_object_get(b, "sku_id"), *ver = json_object_get(b, "version");
        if (!json_is_integer(sku) || !json_is_integer(ver))
            continue;
        bases[3 * n] = (long long)json_integer_value(sku);
        bases[3 * n + 1] = (long long)json_integer_value(ver);
        bases[3 * n + 2] = (long long)json_integer_value(json_object_get(b, "on_hand")) -
                           (long long)json_integer_value(json_object_get(b, "committed"));
        n++;
    }
    oc_holds_set_bases(redis, tenant, bases, n, done, arg);
    free(bases);
}

/* Every stock write stamps updated_at with its transaction's now(): these are the transaction's own. */
OC_DB_STMT(holds_touched, 1,
           "SELECT sku_id AS base_sku, version, on_hand - committed FROM stock WHERE tenant_id = $1"
           " AND updated_at = now()");

void oc_holds_touched_step(oc_db_tx_t *tx, const char *tenant)
{
    int i = tx->nsteps++;
    tx->steps[i].stmt = &holds_touched;
    tx->steps[i].params[0] = tenant;
}

void oc_holds_publish_touched(oc_redis_t *redis, const char *tenant, const oc_db_result_t *res, void (*done)(void *arg),
                              void *arg)
{
    const PGresult *r = NULL;
    for (int i = res->nresults - 1; i >= 0 && r == NULL; i--)
        if (res->results[i] != NULL && PQnfields(res->results[i]) == 3 &&
            strcmp(PQfname(res->results[i], 0), "base_sku") == 0)
            r = res->results[i];
    size_t n = r != NULL ? (size_t)PQntuples(r) : 0;
    long long *bases = n > 0 ? oc_malloc(n * 3 * sizeof(long long)) : NULL;
    if (bases == NULL) {
        if (done != NULL)
            done(arg);
        return;
    }
    for (size_t i = 0; i < n; i++)
        for (int col = 0; col < 3; col++)
            bases[3 * i + (size_t)col] = oc_db_get_ll(r, (int)i, col, 0);
    oc_holds_set_bases(redis, tenant, bases, n, done, arg);
    free(bases);
}

/* --- the group commit into PostgreSQL ------------------------------------------------- */

#define COMMIT_MAX_PENDING 100000
#define COMMIT_BATCH       2000 /* holds per statement: a batch must finish well inside the statement timeout */
#define COMMIT_BRANDS      256  /* brands per statement (app.tenant_id lists them) */
#define COMMIT_INFLIGHT    2    /* statements in flight per thread: while they run, the next batch gathers */
#define COMMIT_GATHER_MS   2    /* a free slot waits this long for company: a statement per hold costs more than one */
#define COMMIT_FULL        64   /* ... unless this many wait already */

typedef struct pending_hold {
    struct pending_hold *next;
    char tenant[37], id[64];
    char *text; /* the JSON object holds_commit() reads */
    char *spec; /* the Redis spec of the hold: "<expires_ms>|<sku>:<qty>,…" */
    oc_hold_commit_cb cb;
    void *arg;
} pending_hold_t;

typedef struct {
    oc_thread_t *th;
    pending_hold_t *head, **tail; /* FIFO */
    size_t npending;
    int inflight;
    oc_timer_t timer; /* the next flush: at the end of this loop iteration, or after a backoff */
    /* the sweeper */
    oc_timer_t sweep_timer;
    char sweep_cursor[37];
    int sweeping;
} holds_thread_t;

typedef struct {
    holds_thread_t *ht;
    size_t n;
    pending_hold_t **holds;
} flush_t;

static void pending_free(pending_hold_t *p)
{
    if (p != NULL) {
        free(p->text);
        free(p->spec);
        free(p);
    }
}

static void holds_thread_dispose(void *p)
{
    holds_thread_t *ht = p;
    oc_timer_stop(ht->th->loop, &ht->timer);
    oc_timer_stop(ht->th->loop, &ht->sweep_timer);
    /* Only at thread exit, after the loop stopped: nobody waits for these any more. */
    oc_metric_add(&m_commit_pending, -(int64_t)ht->npending);
    for (pending_hold_t *h = ht->head, *next; h != NULL; h = next) {
        next = h->next;
        pending_free(h);
    }
    free(ht);
}

static void commit_flush(oc_timer_t *t);
static void sweep(oc_timer_t *t);

/* Arms the next flush when a slot is free: soon, or at once when enough wait. */
static void schedule_flush(holds_thread_t *ht)
{
    if (ht->npending == 0 || ht->inflight >= COMMIT_INFLIGHT)
        return; /* a statement that ends schedules the next */
    if (ht->npending >= COMMIT_FULL)
        oc_timer_start(ht->th->loop, &ht->timer, 0);
    else if (!oc_timer_armed(&ht->timer))
        oc_timer_start(ht->th->loop, &ht->timer, COMMIT_GATHER_MS);
}

static holds_thread_t *holds_thread(oc_thread_t *th)
{
    static const char slot;
    holds_thread_t *ht = oc_thread_slot(th, &slot);
    if (ht == NULL) {
        ht = oc_calloc(1, sizeof(*ht));
        ht->th = th;
        ht->tail = &ht->head;
        oc_timer_init(&ht->timer, commit_flush, ht);
        oc_timer_init(&ht->sweep_timer, sweep, ht);
        oc_thread_set_slot(th, &slot, ht, holds_thread_dispose);
    }
    return ht;
}

OC_DB_STMT(holds_commit_stmt, 1, "SELECT holds_commit($1::jsonb)");

/* Ending a reservation in Redis, then telling the waiting request. */
typedef struct {
    oc_hold_commit_cb cb;
    void *arg;
    oc_hold_commit_outcome_t out;
    char *hold_json, *hash;
} ended_t;

static void ended_init(ended_t *e, const pending_hold_t *p, const oc_hold_commit_outcome_t *out)
{
    e->cb = p->cb;
    e->arg = p->arg;
    e->out = *out;
    e->hold_json = out->hold_json != NULL ? oc_strdup(out->hold_json) : NULL;
    e->hash = out->hash != NULL ? oc_strdup(out->hash) : NULL;
}

static void ended_answer(ended_t *e)
{
    e->out.hold_json = e->hold_json;
    e->out.hash = e->hash;
    e->cb(e->arg, &e->out);
    free(e->hold_json);
    free(e->hash);
}

static void on_reservation_ended(void *arg)
{
    ended_answer(arg);
    free(arg);
}

static void end_reservation(holds_thread_t *ht, pending_hold_t *p, const oc_hold_commit_outcome_t *out)
{
    ended_t *e = oc_calloc(1, sizeof(*e));
    ended_init(e, p, out);
    oc_holds_release_redis(ht->th, p->tenant, p->id, on_reservation_ended, e);
}

/* A committed hold to give its whole life in Redis. */
typedef struct {
    const char *tenant, *id, *spec;
    char *owned; /* spec, when it was built for this */
} settle_t;

static int cmp_settle(const void *a, const void *b)
{
    return strcmp(((const settle_t *)a)->tenant, ((const settle_t *)b)->tenant);
}

/*
 * The answers of committed holds, given once Redis has settled them: a 201 means Redis counts the hold
 * with its real expiry, so a release that follows the answer finds it there.  (Answered before, a settle
 * still on its way when the release ran would count the released hold again until it expired.)
 */
typedef struct {
    size_t left; /* settle replies awaited, plus one while sending */
    size_t n;
    ended_t *answers;
} settled_t;

static void on_settled(void *arg, const char *err, redisReply *reply)
{
    settled_t *s = arg;
    if (--s->left > 0)
        return;
    for (size_t i = 0; i < s->n; i++)
        ended_answer(&s->answers[i]);
    free(s->answers);
    free(s);
}

/* One script call per brand (its keys share a slot); `s` answers once every call has replied. */
static void settle_by_brand(holds_thread_t *ht, settle_t *st, size_t n, settled_t *s)
{
    s->left = 1;
    qsort(st, n, sizeof(*st), cmp_settle);
    const char **argv = oc_calloc(2 + n * 3, sizeof(char *));
    char(*exps)[24] = oc_calloc(n + 1, sizeof(*exps));
    for (size_t i = 0, j; i < n; i = j) {
        char hk[96], prefix[64];
        key(hk, sizeof(hk), st[i].tenant, "holds", -1);
        snprintf(prefix, sizeof(prefix), "oc:{%s}:", st[i].tenant);
        argv[0] = hk;
        argv[1] = prefix;
        int argc = 2;
        for (j = i; j < n && strcmp(st[j].tenant, st[i].tenant) == 0; j++) {
            snprintf(exps[j], sizeof(exps[j]), "%llu", spec_expiry(st[j].spec));
            argv[argc++] = st[j].id;
            argv[argc++] = exps[j];
            argv[argc++] = st[j].spec;
        }
        /* (unsent, Redis is down: the reservations stop counting after OC_HOLD_PENDING_MS; PostgreSQL decides) */
        if (oc_redis_eval(ht->th->redis, &settle_script, on_settled, s, 1, argc, argv, NULL) == 0)
            s->left++;
    }
    free(argv);
    free(exps);
    on_settled(s, NULL, NULL); /* the sending is over */
}

/* The Redis spec of a stored hold: its expiry and lines ([{sku_id, qty}]). */
static char *spec_of_stored(json_t *outcome)
{
    oc_buf_t b = {0};
    spec_of_lines(json_object_get(outcome, "lines"),
                  (long long)json_integer_value(json_object_get(outcome, "expires_ms")), &b);
    char *s = oc_strdup(oc_buf_cstr(&b));
    oc_buf_free(&b);
    return s;
}

static void on_committed(void *arg, const oc_db_result_t *res)
{
    flush_t *f = arg;
    holds_thread_t *ht = f->ht;
    ht->inflight--;
    json_t *outcomes = res->err == NULL ? oc_db_json(res->results[0], 0, 0) : NULL;
    if (res->err != NULL || json_array_size(outcomes) != f->n) {
        if (res->err == NULL)
            oc_log_error("holds_commit answered %zu outcomes for %zu holds", json_array_size(outcomes), f->n);
        else
            oc_log_warn("hold commit failed: %s", res->err);
        oc_hold_commit_outcome_t out = {.result = OC_HOLD_FAILED, .code = res->code ? res->code : OC_EIO};
        for (size_t i = 0; i < f->n; i++) {
            end_reservation(ht, f->holds[i], &out);
            pending_free(f->holds[i]);
        }
    } else {
        settle_t *st = oc_calloc(f->n + 1, sizeof(*st));
        settled_t *settled = oc_calloc(1, sizeof(*settled));
        settled->answers = oc_calloc(f->n + 1, sizeof(ended_t));
        size_t nsettle = 0;
        for (size_t i = 0; i < f->n; i++) {
            pending_hold_t *p = f->holds[i];
            json_t *o = json_array_get(outcomes, i);
            const char *what = json_string_value(json_object_get(o, "outcome"));
            oc_hold_commit_outcome_t out = {0};
            if (what != NULL && strcmp(what, "held") == 0) {
                out.result = OC_HOLD_HELD;
                st[nsettle++] = (settle_t){p->tenant, p->id, p->spec, NULL};
                ended_init(&settled->answers[settled->n++], p, &out);
            } else if (what != NULL && strcmp(what, "exists") == 0) {
                out.result = OC_HOLD_EXISTS;
                char *js = json_dumps(json_object_get(o, "hold"), JSON_COMPACT);
                out.hold_json = js;
                out.hash = json_string_value(json_object_get(o, "hash"));
                if (json_is_true(json_object_get(o, "active"))) {
                    char *spec = spec_of_stored(o);
                    st[nsettle++] = (settle_t){p->tenant, p->id, spec, spec};
                    ended_init(&settled->answers[settled->n++], p, &out);
                } else {
                    end_reservation(ht, p, &out);
                }
                free(js);
            } else {
                out.result = OC_HOLD_SHORT;
                out.short_sku_id = (long long)json_integer_value(json_object_get(o, "sku_id"));
                out.available = (long long)json_integer_value(json_object_get(o, "available"));
                oc_metric_add(&m_commit_short, 1);
                end_reservation(ht, p, &out);
            }
        }
        settle_by_brand(ht, st, nsettle, settled);
        for (size_t i = 0; i < nsettle; i++)
            free(st[i].owned);
        free(st);
        for (size_t i = 0; i < f->n; i++)
            pending_free(f->holds[i]);
    }
    json_decref(outcomes);
    free(f->holds);
    free(f);
    schedule_flush(ht);
}
/* A small set of brand ids, for the brand limit of one statement. */
typedef struct {
    const char *slot[COMMIT_BRANDS * 4];
    size_t n;
} brand_set_t;

/* Returns 1 when `tenant` is in the set or was added, 0 when the set is full. */
static int brand_set_add(brand_set_t *set, const char *tenant)
{
    size_t h = 5381;
    for (const char *c = tenant; *c; c++)
        h = h * 33 + (unsigned char)*c;
    for (size_t i = h % OC_ARRAY_SIZE(set->slot);; i = (i + 1) % OC_ARRAY_SIZE(set->slot)) {
        if (set->slot[i] == NULL) {
            if (set->n == COMMIT_BRANDS)
                return 0;
            set->slot[i] = tenant;
            set->n++;
            return 1;
        }
        if (strcmp(set->slot[i], tenant) == 0)
            return 1;
    }
}

/*
 * One statement of at most COMMIT_BATCH holds of at most COMMIT_BRANDS
 * brands, taken first come first served (a hold of a brand beyond the limit
 * keeps its place for the next statement).  The order of the batch does not
 * matter for locks: holds_commit() locks stock in (brand, sku) order.
 */
static void commit_flush(oc_timer_t *t)
{
    holds_thread_t *ht = t->data;
    if (ht->inflight >= COMMIT_INFLIGHT || ht->npending == 0)
        return;
    flush_t *f = oc_calloc(1, sizeof(*f));
    brand_set_t *brands = oc_calloc(1, sizeof(*brands));
    size_t cap = ht->npending < COMMIT_BATCH ? ht->npending : COMMIT_BATCH;
    f->holds = oc_malloc(cap * sizeof(*f->holds));
    f->ht = ht;
    oc_buf_t holds = {0}, list = {0};
    oc_buf_append(&holds, "[", 1);
    for (pending_hold_t **pp = &ht->head; *pp != NULL && f->n < cap;) {
        pending_hold_t *p = *pp;
        size_t before = brands->n;
        if (!brand_set_add(brands, p->tenant)) {
            pp = &p->next; /* its brand waits for the next statement */
            continue;
        }
        if (brands->n > before)
            oc_buf_printf(&list, "%s%s", before ? "," : "", p->tenant);
        if (f->n > 0)
            oc_buf_append(&holds, ",", 1);
        oc_buf_append(&holds, p->text, strlen(p->text));
        f->holds[f->n++] = p;
        *pp = p->next; /* unlink */
    }
    ht->tail = &ht->head;
    while (*ht->tail != NULL)
        ht->tail = &(*ht->tail)->next;
    ht->npending -= f->n;
    oc_metric_add(&m_commit_pending, -(int64_t)f->n);
    oc_buf_append(&holds, "]", 1);
    oc_db_tx_t tx = {.tenant = oc_buf_cstr(&list), .nsteps = 1};
    tx.steps[0].stmt = &holds_commit_stmt;
    tx.steps[0].params[0] = oc_buf_cstr(&holds);
    int rc = oc_db_run(ht->th->db, &tx, on_committed, f);
    oc_buf_free(&holds);
    oc_buf_free(&list);
    free(brands);
    ht->inflight++;
    if (rc != 0) {
        oc_db_result_t fail = {.err = "the database is unavailable", .code = rc};
        on_committed(f, &fail); /* answers them 503 (the requests are waiting: never synchronously for a new one) */
        return;
    }
    schedule_flush(ht);
}

int oc_holds_commit(oc_thread_t *th, const char *tenant, const oc_hold_record_t *hold, oc_hold_commit_cb cb, void *arg)
{
    holds_thread_t *ht = holds_thread(th);
    if (ht->npending >= COMMIT_MAX_PENDING)
        return OC_EBUSY;
    pending_hold_t *p = oc_calloc(1, sizeof(*p));
    oc_strlcpy(p->tenant, tenant, strlen(tenant), sizeof(p->tenant));
    oc_strlcpy(p->id, hold->id, strlen(hold->id), sizeof(p->id));
    p->cb = cb;
    p->arg = arg;
    /* What holds_commit() reads, written once here. */
    oc_buf_t t = {0}, spec = {0};
    oc_buf_printf(&t, "{\"tenant\":\"%s\",\"id\":\"%s\",\"created_ms\":%llu,\"expires_ms\":%llu,\"lines\":[", tenant,
                  hold->id, (unsigned long long)hold->created_ms, (unsigned long long)hold->expires_ms);
    spec_begin(&spec, hold->expires_ms);
    for (int i = 0; i < hold->n; i++) {
        oc_buf_printf(&t, "%s{\"sku_id\":%lld,\"qty\":%lld}", i ? "," : "", hold->sku[i], hold->qty[i]);
        spec_add(&spec, i, hold->sku[i], hold->qty[i]);
    }
    oc_buf_printf(&t, "],\"request\":%s", hold->request_json);
    if (hold->reference_json != NULL)
        oc_buf_printf(&t, ",\"reference\":%s", hold->reference_json);
    if (hold->hash != NULL)
        oc_buf_printf(&t, ",\"hash\":\"%s\"", hold->hash);
    oc_buf_append(&t, "}", 1);
    p->text = oc_strdup(oc_buf_cstr(&t));
    p->spec = oc_strdup(oc_buf_cstr(&spec));
    oc_buf_free(&t);
    oc_buf_free(&spec);
    *ht->tail = p;
    ht->tail = &p->next;
    ht->npending++;
    oc_metric_add(&m_commit_pending, 1);
    schedule_flush(ht);
    return 0;
}

/* --- the expiry sweeper: one chunk of brands per tick ------------------------------------ */

OC_DB_STMT(sweep_tenants, 1,
           "SELECT set_config('app.tenant_id', coalesce(string_agg(id::text, ','), ''), true), max(id::text)"
           " FROM (SELECT id FROM brands WHERE id > $1::uuid ORDER BY id LIMIT 1000) b");
OC_DB_STMT(sweep_expire, 0, "SELECT holds_expire()");

static void on_swept(void *arg, const oc_db_result_t *res)
{
    holds_thread_t *m = arg;
    m->sweeping = 0;
    uint64_t next = 1000;
    if (res->err == NULL) {
        const char *last = oc_db_get(res->results[0], 0, 1);
        if (last != NULL)
            oc_strlcpy(m->sweep_cursor, last, strlen(last), sizeof(m->sweep_cursor));
        else
            strcpy(m->sweep_cursor, "00000000-0000-0000-0000-000000000000"), next = 1000;
        json_t *expired = oc_db_json(res->results[1], 0, 0);
        size_t i;
        json_t *e;
        json_array_foreach(expired, i, e)
        {
            oc_holds_release_redis(m->th, json_string_value(json_object_get(e, "tenant")),
                                   json_string_value(json_object_get(e, "id")), NULL, NULL);
        }
        oc_metric_add(&m_expired, (int64_t)json_array_size(expired));
        if (last != NULL)
            next = json_array_size(expired) > 0 ? 0 : 50; /* keep going through the brands */
        json_decref(expired);
    }
    oc_timer_start(m->th->loop, &m->sweep_timer, next);
}

static void sweep(oc_timer_t *t)
{
    holds_thread_t *m = t->data;
    if (m->sweeping)
        return;
    oc_db_tx_t tx = {.nsteps = 2};
    tx.steps[0].stmt = &sweep_tenants;
    tx.steps[0].params[0] = m->sweep_cursor;
    tx.steps[1].stmt = &sweep_expire;
    if (oc_db_run(m->th->db, &tx, on_swept, m) == 0)
        m->sweeping = 1;
    else
        oc_timer_start(m->th->loop, &m->sweep_timer, 1000);
}

void oc_holds_start_sweeper(oc_thread_t *th)
{
    holds_thread_t *m = holds_thread(th);
    strcpy(m->sweep_cursor, "00000000-0000-0000-0000-000000000000");
    oc_timer_start(th->loop, &m->sweep_timer, 1000);
}
