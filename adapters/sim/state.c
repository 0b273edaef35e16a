/*
 * state.c — the simulators' in-memory world: accounts and their stock,
 * issued tokens, rate-limit buckets, faults, the request log and scheduled
 * events, plus the small tools they need (seeded RNG, string map, times,
 * URL and base64 helpers).  See sim_internal.h for the model.
 *
 * Runs on the HTTP loop thread only.
 */
#include "adapters/sim/sim_internal.h"
#include "runtime/log.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* --- RNG: splitmix64 seeds xoshiro256** ------------------------------------- */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void oc_sim_rng_seed(oc_sim_rng_t *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t oc_sim_rng_next(oc_sim_rng_t *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double oc_sim_rng_unit(oc_sim_rng_t *r)
{
    return (double)(oc_sim_rng_next(r) >> 11) * 0x1.0p-53;
}

double oc_sim_rng_exp(oc_sim_rng_t *r, double rate)
{
    return -log(1.0 - oc_sim_rng_unit(r)) / rate;
}

int oc_sim_rng_chance(oc_sim_rng_t *r, double p)
{
    if (p <= 0)
        return 0;
    if (p >= 1)
        return 1;
    return oc_sim_rng_unit(r) < p;
}

/* --- string map ----------------------------------------------------------------- */

char oc_sim_map_tomb[1];

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s != '\0'; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static oc_sim_map_slot_t *map_find(const oc_sim_map_t *m, const char *key)
{
    if (m->cap == 0)
        return NULL;
    size_t i = hash_str(key) & (m->cap - 1);
    for (;;) {
        oc_sim_map_slot_t *s = &m->slots[i];
        if (s->key == NULL)
            return NULL;
        if (s->key != oc_sim_map_tomb && strcmp(s->key, key) == 0)
            return s;
        i = (i + 1) & (m->cap - 1);
    }
}

void *oc_sim_map_get(const oc_sim_map_t *m, const char *key)
{
    oc_sim_map_slot_t *s = map_find(m, key);
    return s != NULL ? s->val : NULL;
}

static void map_grow(oc_sim_map_t *m)
{
    size_t cap = m->cap == 0 ? 16 : (m->len * 4 > m->cap ? m->cap * 2 : m->cap);
    oc_sim_map_slot_t *slots = oc_calloc(cap, sizeof(*slots));
    for (size_t i = 0; i < m->cap; i++) {
        oc_sim_map_slot_t *s = &m->slots[i];
        if (!OC_SIM_MAP_LIVE(s))
            continue;
        size_t j = hash_str(s->key) & (cap - 1);
        while (slots[j].key != NULL)
            j = (j + 1) & (cap - 1);
        slots[j] = *s;
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    m->used = m->len;
}

void oc_sim_map_put(oc_sim_map_t *m, const char *key, void *val)
{
    oc_sim_map_slot_t *s = map_find(m, key);
    if (s != NULL) {
        s->val = val;
        return;
    }
    if ((m->used + 1) * 4 >= m->cap * 3)
        map_grow(m);
    char *k = oc_strdup(key);
    size_t i = hash_str(key) & (m->cap - 1);
    while (OC_SIM_MAP_LIVE(&m->slots[i]))
        i = (i + 1) & (m->cap - 1);
    if (m->slots[i].key == NULL)
        m->used++;
    m->slots[i].key = k;
    m->slots[i].val = val;
    m->len++;
}

void *oc_sim_map_del(oc_sim_map_t *m, const char *key)
{
    oc_sim_map_slot_t *s = map_find(m, key);
    if (s == NULL)
        return NULL;
    void *v = s->val;
    free(s->key);
    s->key = oc_sim_map_tomb;
    s->val = NULL;
    m->len--;
    return v;
}

void oc_sim_map_free(oc_sim_map_t *m)
{
    for (size_t i = 0; i < m->cap; i++)
        if (OC_SIM_MAP_LIVE(&m->slots[i]))
            free(m->slots[i].key);
    free(m->slots);
    memset(m, 0, sizeof(*m));
}

/* --- vectors --------------------------------------------------------------------- */

void oc_sim_vec_push(oc_sim_vec_t *v, void *p)
{
    /* (a size that would overflow: more pointers than memory can hold, the allocation policy's case) */
    if (oc_array_grow(&v->items, &v->cap, v->len, sizeof(*v->items), 16) != 0)
        oc_alloc_failed(SIZE_MAX);
    v->items[v->len++] = p;
}

void oc_sim_jobs_run_due(oc_sim_t *sim, oc_sim_account_t *a, oc_sim_vec_t *jobs, uint64_t now,
                         void (*apply)(oc_sim_t *sim, oc_sim_account_t *a, oc_sim_job_t *j))
{
    for (size_t i = 0; i < jobs->len; i++) {
        oc_sim_job_t *j = jobs->items[i];
        if (!j->applied && j->done_ms <= now) {
            j->applied = 1;
            apply(sim, a, j);
        }
    }
}

void oc_sim_vec_free(oc_sim_vec_t *v, void (*free_item)(void *))
{
    if (free_item != NULL)
        for (size_t i = 0; i < v->len; i++)
            free_item(v->items[i]);
    free(v->items);
    memset(v, 0, sizeof(*v));
}

/* --- buckets --------------------------------------------------------------------- */

void oc_sim_bucket_init(oc_sim_bucket_t *b, double burst, double rate, int unlimited)
{
    b->burst = burst;
    b->rate = rate;
    b->tokens = burst;
    b->last_us = oc_mono_us();
    b->unlimited = unlimited;
}

double oc_sim_bucket_level(oc_sim_bucket_t *b)
{
    uint64_t now = oc_mono_us();
    if (now > b->last_us) {
        b->tokens += (double)(now - b->last_us) / 1e6 * b->rate;
        if (b->tokens > b->burst)
            b->tokens = b->burst;
    }
    b->last_us = now;
    return b->tokens;
}

int oc_sim_bucket_take(oc_sim_bucket_t *b, double cost, double *wait_s)
{
    if (b->unlimited)
        return 1;
    double have = oc_sim_bucket_level(b);
    if (have + 1e-9 >= cost) {
        b->tokens = have - cost;
        return 1;
    }
    if (wait_s != NULL)
        *wait_s = b->rate > 0 ? (cost - have) / b->rate : 3600;
    return 0;
}

void oc_sim_bucket_give(oc_sim_bucket_t *b, double cost)
{
    oc_sim_bucket_level(b);
    b->tokens += cost;
    if (b->tokens > b->burst)
        b->tokens = b->burst;
}

/* --- times ------------------------------------------------------------------------- */

int oc_sim_parse_time(const char *s, uint64_t *ms)
{
    size_t l = s != NULL ? strlen(s) : 0;
    if (l >= 10 && strspn(s, "0123456789") == l) { /* epoch milliseconds (Walmart accepts them) */
        *ms = strtoull(s, NULL, 10);
        return 0;
    }
    return oc_time_parse(s, ms);
}

/* --- URL and base64 helpers ----------------------------------------------------------- */

char *oc_sim_urldecode(const char *s, size_t len, int plus)
{
    char *out = oc_malloc(len + 1);
    if (oc_percent_decode(s, len, out, len + 1, plus) < 0) {
        free(out);
        return NULL;
    }
    return out;
}

char *oc_sim_form_get(const char *form, size_t len, const char *name)
{
    size_t nl = strlen(name);
    const char *p = form, *end = form + len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *e = amp != NULL ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(e - p));
        const char *kend = eq != NULL ? eq : e;
        if ((size_t)(kend - p) == nl && memcmp(p, name, nl) == 0) {
            const char *v = eq != NULL ? eq + 1 : e;
            return oc_sim_urldecode(v, (size_t)(e - v), 1);
        }
        p = e + 1;
    }
    return NULL;
}

char *oc_sim_b64url(const char *s, size_t len)
{
    char *out = oc_malloc(h2o_base64_encode_capacity(len) + 1);
    size_t n = h2o_base64_encode(out, s, len, 1);
    out[n] = '\0';
    return out;
}

char *oc_sim_unb64url(const char *s)
{
    h2o_mem_pool_t pool;
    h2o_mem_init_pool(&pool);
    h2o_iovec_t v = h2o_decode_base64url(&pool, s, strlen(s));
    char *out = NULL;
    if (v.base != NULL) {
        out = oc_malloc(v.len + 1);
        memcpy(out, v.base, v.len);
        out[v.len] = '\0';
    }
    h2o_mem_clear_pool(&pool);
    return out;
}

/* --- JSON helpers ------------------------------------------------------------------ */

int oc_sim_json_int(const json_t *v, long long *out)
{
    if (json_is_integer(v)) {
        *out = (long long)json_integer_value(v);
        return 1;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d == floor(d) && fabs(d) < 9e15) {
            *out = (long long)d;
            return 1;
        }
    }
    return 0;
}

json_t *oc_sim_json_parse(const char *s, size_t len)
{
    if (s == NULL || len == 0)
        return NULL;
    json_t *j = json_loadb(s, len, 0, NULL);
    if (j != NULL && !json_is_object(j)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static int json_num(const json_t *v, double *out)
{
    if (!json_is_number(v))
        return 0;
    *out = json_number_value(v);
    return 1;
}

/* --- faults ----------------------------------------------------------------------- */

void oc_sim_faults_clear(oc_sim_faults_t *f)
{
    memset(f, 0, sizeof(*f));
    f->error_status = 503;
    f->timeout_ms = 30000;
}

int oc_sim_faults_parse(oc_sim_faults_t *f, const json_t *o, char *err, size_t errlen)
{
    if (!json_is_object(o)) {
        snprintf(err, errlen, "faults must be an object");
        return -1;
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v)
    {
        double d;
        long long n;
        if (strcmp(k, "latency_ms") == 0 && oc_sim_json_int(v, &n) && n >= 0 && n <= 600000) {
            f->latency_ms = (int)n;
        } else if (strcmp(k, "latency_jitter_ms") == 0 && oc_sim_json_int(v, &n) && n >= 0 && n <= 600000) {
            f->latency_jitter_ms = (int)n;
        } else if (strcmp(k, "error_rate") == 0 && json_num(v, &d) && d >= 0 && d <= 1) {
            f->error_rate = d;
        } else if (strcmp(k, "error_status") == 0 && oc_sim_json_int(v, &n) && n >= 500 && n <= 599) {
            f->error_status = (int)n;
        } else if (strcmp(k, "timeout_rate") == 0 && json_num(v, &d) && d >= 0 && d <= 1) {
            f->timeout_rate = d;
        } else if (strcmp(k, "timeout_ms") == 0 && oc_sim_json_int(v, &n) && n >= 0 && n <= 600000) {
            f->timeout_ms = (int)n;
        } else if (strcmp(k, "malformed_rate") == 0 && json_num(v, &d) && d >= 0 && d <= 1) {
            f->malformed_rate = d;
        } else if (strcmp(k, "storm_seconds") == 0 && json_num(v, &d) && d >= 0 && d <= 86400) {
            f->storm_until_ms = d > 0 ? oc_now_ms() + (uint64_t)(d * 1000) : 0;
        } else if (strcmp(k, "match") == 0 && (json_is_string(v) || json_is_null(v))) {
            oc_strlcpy(f->match, json_is_string(v) ? json_string_value(v) : "",
                       json_is_string(v) ? json_string_length(v) : 0, sizeof(f->match));
        } else {
            snprintf(err, errlen, "faults.%s is unknown or out of range", k);
            return -1;
        }
    }
    return 0;
}

json_t *oc_sim_faults_json(const oc_sim_faults_t *f)
{
    uint64_t now = oc_now_ms();
    double storm = f->storm_until_ms > now ? (double)(f->storm_until_ms - now) / 1000.0 : 0;
    return json_pack("{s:i, s:i, s:f, s:i, s:f, s:i, s:f, s:f, s:s}", "latency_ms", f->latency_ms, "latency_jitter_ms",
                     f->latency_jitter_ms, "error_rate", f->error_rate, "error_status", f->error_status, "timeout_rate",
                     f->timeout_rate, "timeout_ms", f->timeout_ms, "malformed_rate", f->malformed_rate,
                     "storm_seconds_left", storm, "match", f->match);
}

/* --- accounts ------------------------------------------------------------------------ */

static const char *const channel_names[] = {"shopify", "amazon", "walmart"};

static const oc_sim_channel_ops_t *channel_ops(oc_sim_channel_t c)
{
    return c == OC_SIM_SHOPIFY ? &oc_sim_shopify_ops : c == OC_SIM_AMAZON ? &oc_sim_amazon_ops : &oc_sim_walmart_ops;
}

static void random_alnum(oc_sim_rng_t *rng, char *out, size_t n, const char *alphabet)
{
    size_t al = strlen(alphabet);
    for (size_t i = 0; i < n; i++)
        out[i] = alphabet[oc_sim_rng_next(rng) % al];
    out[n] = '\0';
}

oc_sim_account_t *oc_sim_account_find(oc_sim_t *sim, int id)
{
    char key[16];
    snprintf(key, sizeof(key), "%d", id);
    return oc_sim_map_get(&sim->account_map, key);
}

oc_sim_bucket_t *oc_sim_account_bucket(oc_sim_account_t *a, const char *name)
{
    for (int i = 0; i < a->nbuckets; i++)
        if (strcmp(a->buckets[i].name, name) == 0)
            return &a->buckets[i].b;
    return NULL;
}

static void reset_buckets(oc_sim_account_t *a)
{
    const oc_sim_channel_ops_t *ops = channel_ops(a->channel);
    a->nbuckets = 0;
    for (size_t i = 0; i < ops->nlimits && a->nbuckets < OC_SIM_MAX_BUCKETS; i++) {
        oc_strlcpy(a->buckets[a->nbuckets].name, ops->limits[i].name, strlen(ops->limits[i].name),
                   sizeof(a->buckets[0].name));
        oc_sim_bucket_init(&a->buckets[a->nbuckets].b, ops->limits[i].burst, ops->limits[i].rate, a->unlimited);
        a->nbuckets++;
    }
}

static int parse_limits(oc_sim_account_t *a, const json_t *v, char *err, size_t errlen)
{
    if (json_is_string(v)) {
        const char *m = json_string_value(v);
        if (strcmp(m, "realistic") != 0 && strcmp(m, "unlimited") != 0) {
            snprintf(err, errlen, "limits must be \"realistic\", \"unlimited\" or an object");
            return -1;
        }
        a->unlimited = strcmp(m, "unlimited") == 0;
        reset_buckets(a);
        return 0;
    }
    if (!json_is_object(v)) {
        snprintf(err, errlen, "limits must be \"realistic\", \"unlimited\" or an object");
        return -1;
    }
    json_t *mode = json_object_get(v, "mode");
    if (mode != NULL && parse_limits(a, mode, err, errlen) != 0)
        return -1;
    const char *k;
    json_t *b;
    json_object_foreach((json_t *)v, k, b)
    {
        if (strcmp(k, "mode") == 0)
            continue;
        oc_sim_bucket_t *bk = oc_sim_account_bucket(a, k);
        double burst, rate;
        if (bk == NULL) {
            snprintf(err, errlen, "limits.%s: no such bucket for %s", k, channel_names[a->channel]);
            return -1;
        }
        if (!json_is_object(b)) {
            snprintf(err, errlen, "limits.%s must be an object with burst and rate", k);
            return -1;
        }
        burst = bk->burst;
        rate = bk->rate;
        json_t *x;
        if ((x = json_object_get(b, "burst")) != NULL && (!json_num(x, &burst) || burst <= 0)) {
            snprintf(err, errlen, "limits.%s.burst must be a positive number", k);
            return -1;
        }
        if ((x = json_object_get(b, "rate")) != NULL && (!json_num(x, &rate) || rate < 0)) {
            snprintf(err, errlen, "limits.%s.rate must be a number >= 0", k);
            return -1;
        }
        json_t *u = json_object_get(b, "unlimited");
        oc_sim_bucket_init(bk, burst, rate, u != NULL ? json_is_true(u) : a->unlimited);
    }
    return 0;
}

static json_t *limits_json(oc_sim_account_t *a)
{
    json_t *b = json_object();
    for (int i = 0; i < a->nbuckets; i++) {
        oc_sim_bucket_t *bk = &a->buckets[i].b;
        json_object_set_new(b, a->buckets[i].name,
                            json_pack("{s:f, s:f, s:f, s:b}", "burst", bk->burst, "rate", bk->rate, "available",
                                      oc_sim_bucket_level(bk), "unlimited", bk->unlimited));
    }
    return json_pack("{s:s, s:o}", "mode", a->unlimited ? "unlimited" : "realistic", "buckets", b);
}

static const char *const topic_names[] = {"orders/create",  "orders/cancelled",        "orders/fulfilled",
                                          "refunds/create", "inventory_levels/update", "orders/updated"};

static int parse_webhook(oc_sim_account_t *a, const json_t *w, char *err, size_t errlen)
{
    if (!json_is_object(w)) {
        snprintf(err, errlen, "webhook must be an object");
        return -1;
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)w, k, v)
    {
        long long n;
        double d;
        if (strcmp(k, "url") == 0 && (json_is_string(v) || json_is_null(v))) {
            const char *u = json_is_string(v) ? json_string_value(v) : "";
            if (*u != '\0' && strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0) {
                snprintf(err, errlen, "webhook.url must be an http(s) URL");
                return -1;
            }
            oc_strlcpy(a->webhook.url, u, strlen(u), sizeof(a->webhook.url));
        } else if (strcmp(k, "secret") == 0 && json_is_string(v) && json_string_length(v) > 0) {
            oc_strlcpy(a->webhook.secret, json_string_value(v), json_string_length(v), sizeof(a->webhook.secret));
        } else if (strcmp(k, "topics") == 0 && json_is_array(v)) {
            unsigned t = 0;
            size_t i;
            json_t *e;
            json_array_foreach(v, i, e)
            {
                size_t j;
                for (j = 0; j < OC_ARRAY_SIZE(topic_names); j++)
                    if (json_is_string(e) && strcmp(json_string_value(e), topic_names[j]) == 0)
                        break;
                if (j == OC_ARRAY_SIZE(topic_names)) {
                    snprintf(err, errlen, "webhook.topics[%zu] is not a supported topic", i);
                    return -1;
                }
                t |= 1u << j;
            }
            a->webhook.topics = t;
        } else if (strcmp(k, "duplicates") == 0 && oc_sim_json_int(v, &n) && n >= 0 && n <= 10) {
            a->webhook.duplicates = (int)n;
        } else if (strcmp(k, "duplicate_rate") == 0 && json_num(v, &d) && d >= 0 && d <= 1) {
            a->webhook.duplicate_rate = d;
        } else if (strcmp(k, "max_attempts") == 0 && oc_sim_json_int(v, &n) && n >= 1 && n <= 20) {
            a->webhook.max_attempts = (int)n;
        } else if (strcmp(k, "retry_base_ms") == 0 && oc_sim_json_int(v, &n) && n >= 0 && n <= 3600000) {
            a->webhook.retry_base_ms = (int)n;
        } else if (strcmp(k, "timeout_ms") == 0 && oc_sim_json_int(v, &n) && n >= 10 && n <= 60000) {
            a->webhook.timeout_ms = (int)n;
        } else if (strcmp(k, "api_version") == 0 && json_is_string(v) && json_string_length(v) < 16) {
            oc_strlcpy(a->webhook.api_version, json_string_value(v), json_string_length(v),
                       sizeof(a->webhook.api_version));
        } else {
            snprintf(err, errlen, "webhook.%s is unknown or out of range", k);
            return -1;
        }
    }
    return 0;
}

static json_t *webhook_json(oc_sim_account_t *a)
{
    json_t *topics = json_array();
    for (size_t j = 0; j < OC_ARRAY_SIZE(topic_names); j++)
        if (a->webhook.topics & (1u << j))
            json_array_append_new(topics, json_string(topic_names[j]));
    return json_pack("{s:s?, s:o, s:i, s:f, s:i, s:i, s:i, s:s}", "url", a->webhook.url[0] ? a->webhook.url : NULL,
                     "topics", topics, "duplicates", a->webhook.duplicates, "duplicate_rate", a->webhook.duplicate_rate,
                     "max_attempts", a->webhook.max_attempts, "retry_base_ms", a->webhook.retry_base_ms, "timeout_ms",
                     a->webhook.timeout_ms, "api_version", a->webhook.api_version);
}

static int int_field(const json_t *spec, const char *name, long long lo, long long hi, int *out, char *err,
                     size_t errlen)
{
    json_t *v = json_object_get(spec, name);
    long long n;
    if (v == NULL)
        return 0;
    if (!oc_sim_json_int(v, &n) || n < lo || n > hi) {
        snprintf(err, errlen, "%s must be an integer from %lld to %lld", name, lo, hi);
        return -1;
    }
    *out = (int)n;
    return 0;
}

int oc_sim_account_configure(oc_sim_t *sim, oc_sim_account_t *a, const json_t *spec, char *err, size_t errlen)
{
    json_t *v;
    if (int_field(spec, "token_ttl_s", 1, 100000000, &a->token_ttl_s, err, errlen) ||
        int_field(spec, "refresh_ttl_s", 1, 100000000, &a->refresh_ttl_s, err, errlen) ||
        int_field(spec, "apply_delay_ms", 0, 86400000, &a->apply_delay_ms, err, errlen) ||
        int_field(spec, "feed_queue_ms", 0, 86400000, &a->feed_queue_ms, err, errlen) ||
        int_field(spec, "feed_process_ms", 0, 86400000, &a->feed_process_ms, err, errlen) ||
        int_field(spec, "report_ms", 0, 86400000, &a->report_ms, err, errlen) ||
        int_field(spec, "report_gzip", 0, 1, &a->report_gzip, err, errlen) ||
        int_field(spec, "pending_ms", 0, 86400000, &a->pending_ms, err, errlen) ||
        int_field(spec, "order_items_page", 1, 100, &a->order_items_page, err, errlen))
        return -1;
    if ((v = json_object_get(spec, "limits")) != NULL && parse_limits(a, v, err, errlen) != 0)
        return -1;
    if ((v = json_object_get(spec, "faults")) != NULL && oc_sim_faults_parse(&a->faults, v, err, errlen) != 0)
        return -1;
    if ((v = json_object_get(spec, "webhook")) != NULL) {
        if (a->channel != OC_SIM_SHOPIFY) {
            snprintf(err, errlen, "webhook applies to Shopify accounts only");
            return -1;
        }
        if (parse_webhook(a, v, err, errlen) != 0)
            return -1;
    }
    if ((v = json_object_get(spec, "generator")) != NULL && oc_sim_generator_configure(sim, a, v, err, errlen) != 0)
        return -1;
    if ((v = json_object_get(spec, "marketplace_ids")) != NULL) {
        /* Amazon: the marketplaces the seller participates in (the first is the one orders and listings show) */
        size_t i;
        json_t *m;
        oc_buf_t b = {0};
        if (a->channel != OC_SIM_AMAZON || !json_is_array(v) || json_array_size(v) == 0) {
            snprintf(err, errlen, "marketplace_ids: a non-empty list, for Amazon accounts");
            return -1;
        }
        json_array_foreach(v, i, m)
        {
            const char *id = json_string_value(m);
            if (id == NULL || *id == '\0' || strlen(id) >= 20 || strchr(id, ',') != NULL) {
                oc_buf_free(&b);
                snprintf(err, errlen, "marketplace_ids: marketplace ids are short strings");
                return -1;
            }
            oc_buf_printf(&b, "%s%s", i > 0 ? "," : "", id);
        }
        if (b.len >= sizeof(a->marketplaces)) {
            oc_buf_free(&b);
            snprintf(err, errlen, "marketplace_ids: too many");
            return -1;
        }
        snprintf(a->marketplaces, sizeof(a->marketplaces), "%s", oc_buf_cstr(&b));
        snprintf(a->marketplace_id, sizeof(a->marketplace_id), "%s", json_string_value(json_array_get(v, 0)));
        oc_buf_free(&b);
    }
    return 0;
}

static void sku_free(void *p)
{
    oc_sim_sku_t *s = p;
    free(s->sku);
    free(s);
}

oc_sim_sku_t *oc_sim_sku_find(oc_sim_account_t *a, const char *sku)
{
    return oc_sim_map_get(&a->sku_map, sku);
}

oc_sim_sku_t *oc_sim_sku_by_item(oc_sim_account_t *a, long long item_id)
{
    char key[24];
    snprintf(key, sizeof(key), "%lld", item_id);
    return oc_sim_map_get(&a->item_map, key);
}

oc_sim_sku_t *oc_sim_sku_at(oc_sim_account_t *a, int index)
{
    return index >= 0 && (size_t)index < a->skus.len ? a->skus.items[index] : NULL;
}

oc_sim_sku_t *oc_sim_sku_add(oc_sim_t *sim, oc_sim_account_t *a, const char *sku, long long qty)
{
    if (oc_sim_sku_find(a, sku) != NULL)
        return NULL;
    oc_sim_sku_t *s = oc_calloc(1, sizeof(*s));
    s->sku = oc_strdup(sku);
    s->index = (int)a->skus.len;
    s->qty = qty;
    s->submitted = qty;
    s->item_id = ++sim->next_item_id;
    s->variant_id = s->item_id + 9000000000LL;
    s->location_id = a->location_id;
    s->updated_ms = oc_now_ms();
    if (qty <= 0)
        s->zero_since_ms = s->updated_ms;
    random_alnum(&a->rng, s->asin + 2, 8, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
    s->asin[0] = 'B';
    s->asin[1] = '0';
    char key[24];
    snprintf(key, sizeof(key), "%lld", s->item_id);
    oc_sim_vec_push(&a->skus, s);
    oc_sim_map_put(&a->sku_map, s->sku, s);
    oc_sim_map_put(&a->item_map, key, s);
    return s;
}

static void qty_changed(oc_sim_t *sim, oc_sim_account_t *a, oc_sim_sku_t *s, long long old)
{
    uint64_t now = oc_now_ms();
    s->updated_ms = now;
    if (old > 0 && s->qty <= 0) {
        s->stockouts++;
        s->zero_since_ms = now;
    } else if (old <= 0 && s->qty > 0 && s->zero_since_ms != 0) {
        s->zero_total_ms += now - s->zero_since_ms;
        s->zero_since_ms = 0;
    }
    if (a->channel == OC_SIM_SHOPIFY && old != s->qty)
        oc_sim_shopify_webhook(sim, a, OC_SIM_TOPIC_INVENTORY_LEVELS_UPDATE, oc_sim_shopify_level_json(a, s));
}

void oc_sim_set_qty(oc_sim_t *sim, oc_sim_account_t *a, oc_sim_sku_t *s, long long qty, int is_write)
{
    long long old = s->qty;
    s->qty = qty;
    if (is_write) {
        s->writes++;
        s->submitted = qty;
    }
    qty_changed(sim, a, s, old);
}

void oc_sim_adjust_qty(oc_sim_t *sim, oc_sim_account_t *a, oc_sim_sku_t *s, long long delta)
{
    long long old = s->qty;
    s->qty += delta;
    qty_changed(sim, a, s, old);
}

static int parse_channel(const char *s)
{
    for (int i = 0; i < OC_SIM_NCHANNELS; i++)
        if (strcmp(s, channel_names[i]) == 0)
            return i;
    return -1;
}

static int valid_shop(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 60)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-'))
            return 0;
    return 1;
}

static int add_skus(oc_sim_t *sim, oc_sim_account_t *a, const json_t *spec, char *err, size_t errlen)
{
    json_t *skus = json_object_get(spec, "skus"), *stock = json_object_get(spec, "stock"), *e;
    size_t i;
    if (skus != NULL && !json_is_array(skus)) {
        snprintf(err, errlen, "skus must be an array");
        return -1;
    }
    json_array_foreach(skus, i, e)
    {
        const char *name = json_is_string(e) ? json_string_value(e) : json_string_value(json_object_get(e, "sku"));
        long long qty = 0, id;
        if (name == NULL || *name == '\0' || strlen(name) > 200) {
            snprintf(err, errlen, "skus[%zu].sku must be a non-empty string", i);
            return -1;
        }
        json_t *q = json_is_object(e) ? json_object_get(e, "quantity") : NULL;
        if (q != NULL && !oc_sim_json_int(q, &qty)) {
            snprintf(err, errlen, "skus[%zu].quantity must be an integer", i);
            return -1;
        }
        oc_sim_sku_t *s = oc_sim_sku_add(sim, a, name, qty);
        if (s == NULL) {
            snprintf(err, errlen, "skus[%zu]: duplicate sku \"%s\"", i, name);
            return -1;
        }
        if (json_is_object(e)) {
            if (oc_sim_json_int(json_object_get(e, "location_id"), &id))
                s->location_id = id;
            if (oc_sim_json_int(json_object_get(e, "inventory_item_id"), &id) && oc_sim_sku_by_item(a, id) == NULL) {
                char key[24];
                snprintf(key, sizeof(key), "%lld", s->item_id);
                oc_sim_map_del(&a->item_map, key);
                s->item_id = id;
                snprintf(key, sizeof(key), "%lld", s->item_id);
                oc_sim_map_put(&a->item_map, key, s);
            }
            const char *asin = json_string_value(json_object_get(e, "asin"));
            if (asin != NULL)
                oc_strlcpy(s->asin, asin, strlen(asin), sizeof(s->asin));
        }
    }
    if (stock != NULL && !json_is_object(stock)) {
        snprintf(err, errlen, "stock must be an object of sku: quantity");
        return -1;
    }
    const char *k;
    json_object_foreach(stock, k, e)
    {
        long long qty;
        if (!oc_sim_json_int(e, &qty)) {
            snprintf(err, errlen, "stock.%s must be an integer", k);
            return -1;
        }
        if (oc_sim_sku_add(sim, a, k, qty) == NULL) {
            snprintf(err, errlen, "stock: duplicate sku \"%s\"", k);
            return -1;
        }
    }
    return 0;
}

static int copy_opt_string(const json_t *spec, const char *name, char *dst, size_t cap, char *err, size_t errlen)
{
    json_t *v = json_object_get(spec, name);
    if (v == NULL)
        return 0;
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= cap) {
        snprintf(err, errlen, "%s must be a non-empty string shorter than %zu characters", name, cap);
        return -1;
    }
    oc_strlcpy(dst, json_string_value(v), json_string_length(v), cap);
    return 0;
}

oc_sim_account_t *oc_sim_account_create(oc_sim_t *sim, const json_t *spec, char *err, size_t errlen)
{
    const char *ch = json_string_value(json_object_get(spec, "channel"));
    int channel = ch != NULL ? parse_channel(ch) : -1;
    if (channel < 0) {
        snprintf(err, errlen, "channel must be \"shopify\", \"amazon\" or \"walmart\"");
        return NULL;
    }
    oc_sim_account_t *a = oc_calloc(1, sizeof(*a));
    a->sim = sim;
    a->id = ++sim->next_account_id;
    a->channel = (oc_sim_channel_t)channel;
    a->created_ms = oc_now_ms();
    long long seed = (long long)(oc_sim_rng_next(&sim->rng) & 0x7fffffffffffLL);
    if (json_object_get(spec, "seed") != NULL && !oc_sim_json_int(json_object_get(spec, "seed"), &seed)) {
        snprintf(err, errlen, "seed must be an integer");
        goto Error;
    }
    a->seed = (uint64_t)seed;
    oc_sim_rng_seed(&a->rng, a->seed);
    oc_sim_rng_seed(&a->gen_rng, a->seed ^ 0x5eed5eed5eedULL);
    a->gen.seed = a->seed;
    a->gen.units_min = a->gen.units_max = 1;
    a->gen.lifecycle.fulfill_after_ms = -1;
    a->gen.lifecycle.deliver_after_ms = -1;
    a->gen.lifecycle.restock = 1;
    oc_sim_faults_clear(&a->faults);
    a->apply_delay_ms = 3000;
    a->feed_queue_ms = 2000;
    a->feed_process_ms = 5000;
    a->report_ms = 3000;
    a->pending_ms = 2000;
    a->order_items_page = 100;
    a->refresh_ttl_s = 365 * 86400;
    a->next_line_id = 1;
    a->webhook.topics = OC_SIM_TOPIC_ALL;
    a->webhook.max_attempts = 8;
    a->webhook.retry_base_ms = 60000;
    a->webhook.timeout_ms = 5000;
    snprintf(a->webhook.api_version, sizeof(a->webhook.api_version), "2026-01");

    const char *name = json_string_value(json_object_get(spec, "name"));
    if (name != NULL && (strlen(name) == 0 || strlen(name) >= sizeof(a->name))) {
        snprintf(err, errlen, "name must be 1 to %zu characters", sizeof(a->name) - 1);
        goto Error;
    }
    if (name != NULL)
        oc_strlcpy(a->name, name, strlen(name), sizeof(a->name));
    else
        snprintf(a->name, sizeof(a->name), "%s%d", a->channel == OC_SIM_SHOPIFY ? "shop" : channel_names[channel],
                 a->id);

    char hex[65];
    switch (a->channel) {
    case OC_SIM_SHOPIFY: {
        if (!valid_shop(a->name)) {
            snprintf(err, errlen, "a Shopify name is the shop: lower-case letters, digits and '-'");
            goto Error;
        }
        if (oc_sim_map_get(&sim->shops, a->name) != NULL) {
            snprintf(err, errlen, "shop \"%s\" exists", a->name);
            goto Error;
        }
        oc_random_hex(hex, 16);
        snprintf(a->client_id, sizeof(a->client_id), "%s", hex);
        oc_random_hex(hex, 16);
        snprintf(a->client_secret, sizeof(a->client_secret), "shpss_%s", hex);
        const char *mode = json_string_value(json_object_get(spec, "token_mode"));
        if (mode != NULL && strcmp(mode, "offline") != 0 && strcmp(mode, "expiring") != 0) {
            snprintf(err, errlen, "token_mode must be \"offline\" or \"expiring\"");
            goto Error;
        }
        a->expiring = mode != NULL && strcmp(mode, "expiring") == 0;
        a->token_ttl_s = a->expiring ? 3600 : 86399;
        a->location_id = 70000000000LL + a->id;
        long long loc;
        if (oc_sim_json_int(json_object_get(spec, "location_id"), &loc) && loc > 0)
            a->location_id = loc;
        break;
    }
    case OC_SIM_AMAZON:
        random_alnum(&a->rng, a->seller_id + 1, 13, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
        a->seller_id[0] = 'A';
        snprintf(a->marketplace_id, sizeof(a->marketplace_id), "ATVPDKIKX0DER");
        oc_random_hex(hex, 16);
        snprintf(a->client_id, sizeof(a->client_id), "amzn1.application-oa2-client.%.32s", hex);
        oc_random_hex(hex, 32);
        snprintf(a->client_secret, sizeof(a->client_secret), "amzn1.oa2-cs.v1.%.64s", hex);
        oc_random_hex(hex, 32);
        snprintf(a->refresh_token, sizeof(a->refresh_token), "Atzr|%.64s", hex);
        a->token_ttl_s = 3600;
        break;
    case OC_SIM_WALMART:
        oc_random_hex(hex, 16);
        snprintf(a->client_id, sizeof(a->client_id), "%.8s-%.4s-4%.3s-a%.3s-%.12s", hex, hex + 8, hex + 12, hex + 15,
                 hex + 18);
        oc_random_hex(hex, 32);
        snprintf(a->client_secret, sizeof(a->client_secret), "%s", hex);
        snprintf(a->ship_node, sizeof(a->ship_node), "10000003527");
        a->token_ttl_s = 900;
        break;
    default: break;
    }
    if (a->channel == OC_SIM_WALMART) /* the seller's partner id, as Walmart's order cursors carry it */
        snprintf(a->seller_id, sizeof(a->seller_id), "10001%06d", a->id % 1000000);
    if (copy_opt_string(spec, "client_id", a->client_id, sizeof(a->client_id), err, errlen) ||
        copy_opt_string(spec, "client_secret", a->client_secret, sizeof(a->client_secret), err, errlen) ||
        copy_opt_string(spec, "seller_id", a->seller_id, sizeof(a->seller_id), err, errlen) ||
        copy_opt_string(spec, "marketplace_id", a->marketplace_id, sizeof(a->marketplace_id), err, errlen) ||
        copy_opt_string(spec, "ship_node", a->ship_node, sizeof(a->ship_node), err, errlen) ||
        (a->channel == OC_SIM_WALMART &&
         copy_opt_string(spec, "partner_id", a->seller_id, sizeof(a->seller_id), err, errlen)) ||
        (a->channel == OC_SIM_AMAZON &&
         copy_opt_string(spec, "refresh_token", a->refresh_token, sizeof(a->refresh_token), err, errlen)))
        goto Error;
    snprintf(a->marketplaces, sizeof(a->marketplaces), "%s", a->marketplace_id);
    snprintf(a->webhook.secret, sizeof(a->webhook.secret), "%s", a->client_secret);
    oc_timer_init(&a->apply_timer, NULL, NULL);
    oc_timer_init(&a->gen.timer, NULL, NULL);
    reset_buckets(a);
    if (add_skus(sim, a, spec, err, errlen) != 0)
        goto Error;
    char key[16];
    snprintf(key, sizeof(key), "%d", a->id);
    if (oc_sim_account_configure(sim, a, spec, err, errlen) != 0)
        goto Error;
    if (a->channel == OC_SIM_SHOPIFY) {
        if (a->expiring) {
            char tok[100];
            oc_sim_token_issue(sim, a, "shpat_", a->token_ttl_s, tok, sizeof(tok));
            snprintf(a->offline_token, sizeof(a->offline_token), "%.90s", tok);
            oc_random_hex(hex, 16);
            snprintf(a->refresh_token, sizeof(a->refresh_token), "shprt_%s", hex);
        } else {
            oc_random_hex(hex, 16);
            snprintf(a->offline_token, sizeof(a->offline_token), "shpat_%s", hex);
            oc_sim_token_t *t = oc_calloc(1, sizeof(*t));
            t->account_id = a->id;
            oc_sim_map_put(&sim->tokens, a->offline_token, t);
        }
        oc_sim_map_put(&sim->shops, a->name, a);
    }
    oc_sim_map_put(&sim->account_map, key, a);
    oc_sim_vec_push(&sim->accounts, a);
    if (a->gen.configured && a->gen.running)
        oc_sim_generator_start(sim, a);
    return a;
Error:
    if (err[0] == '\0')
        snprintf(err, errlen, "the account could not be created");
    oc_sim_tokens_expire(sim, a->id);
    oc_sim_account_destroy(sim, a);
    sim->next_account_id--;
    return NULL;
}

static void idem_free(oc_sim_account_t *a)
{
    for (size_t i = 0; i < a->idem.cap; i++) {
        oc_sim_map_slot_t *s = &a->idem.slots[i];
        if (OC_SIM_MAP_LIVE(s)) {
            oc_sim_idem_t *e = s->val;
            free(e->hash);
            json_decref(e->result);
            free(e);
        }
    }
    oc_sim_map_free(&a->idem);
    oc_sim_vec_free(&a->idem_fifo, free);
}

static void order_free(void *p)
{
    oc_sim_order_t *o = p;
    free(o->lines);
    json_decref(o->refunds);
    free(o);
}

static void json_item_free(void *p)
{
    json_decref(p);
}

void oc_sim_account_destroy(oc_sim_t *sim, oc_sim_account_t *a)
{
    if (a == NULL)
        return;
    if (sim->loop != NULL) {
        oc_timer_stop(sim->loop, &a->apply_timer);
        oc_timer_stop(sim->loop, &a->gen.timer);
    }
    oc_sim_vec_free(&a->skus, sku_free);
    oc_sim_map_free(&a->sku_map);
    oc_sim_map_free(&a->item_map);
    oc_sim_vec_free(&a->orders, order_free);
    oc_sim_map_free(&a->order_map);
    oc_sim_vec_free(&a->returns, free);
    oc_sim_vec_free(&a->notifications, json_item_free);
    oc_sim_vec_free(&a->patches, free);
    oc_sim_vec_free(&a->feeds, oc_sim_job_free);
    oc_sim_vec_free(&a->reports, oc_sim_job_free);
    idem_free(a);
    free(a->gen.heap);
    free(a);
}

void oc_sim_account_delete(oc_sim_t *sim, oc_sim_account_t *a)
{
    char key[16];
    snprintf(key, sizeof(key), "%d", a->id);
    oc_sim_map_del(&sim->account_map, key);
    if (a->channel == OC_SIM_SHOPIFY)
        oc_sim_map_del(&sim->shops, a->name);
    for (size_t i = 0; i < sim->accounts.len; i++)
        if (sim->accounts.items[i] == a) {
            memmove(&sim->accounts.items[i], &sim->accounts.items[i + 1], (sim->accounts.len - i - 1) * sizeof(void *));
            sim->accounts.len--;
            break;
        }
    /* documents of the account */
    for (size_t i = 0; i < sim->docs.cap; i++) {
        oc_sim_map_slot_t *s = &sim->docs.slots[i];
        if (OC_SIM_MAP_LIVE(s) && ((oc_sim_doc_t *)s->val)->account_id == a->id) {
            oc_sim_doc_t *d = s->val;
            oc_sim_map_del(&sim->docs, d->id);
            oc_sim_doc_free(d);
        }
    }
    oc_sim_tokens_expire(sim, a->id);
    oc_sim_webhooks_cancel(sim->webhooks, a->id);
    oc_sim_account_destroy(sim, a);
}

static json_t *sku_json(oc_sim_account_t *a, const oc_sim_sku_t *s, int full)
{
    uint64_t now = oc_now_ms();
    json_t *j = json_pack("{s:s, s:I, s:I}", "sku", s->sku, "quantity", (json_int_t)s->qty, "committed",
                          (json_int_t)s->committed);
    switch (a->channel) {
    case OC_SIM_SHOPIFY: {
        char gid[64];
        json_object_set_new(j, "on_hand", json_integer(s->qty + s->committed));
        json_object_set_new(j, "inventory_item_id", json_integer(s->item_id));
        snprintf(gid, sizeof(gid), "gid://shopify/InventoryItem/%lld", s->item_id);
        json_object_set_new(j, "inventory_item_gid", json_string(gid));
        json_object_set_new(j, "location_id", json_integer(s->location_id));
        snprintf(gid, sizeof(gid), "gid://shopify/Location/%lld", s->location_id);
        json_object_set_new(j, "location_gid", json_string(gid));
        json_object_set_new(j, "variant_id", json_integer(s->variant_id));
        break;
    }
    case OC_SIM_AMAZON:
        json_object_set_new(j, "asin", json_string(s->asin));
        json_object_set_new(j, "submitted", json_integer(s->submitted));
        break;
    default: break;
    }
    if (full) {
        uint64_t zero = s->zero_total_ms + (s->zero_since_ms ? now - s->zero_since_ms : 0);
        json_object_set_new(j, "stats",
                            json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "orders",
                                      (json_int_t)s->orders, "sold", (json_int_t)s->sold, "oversold",
                                      (json_int_t)s->oversold, "stockouts", (json_int_t)s->stockouts, "lost_arrivals",
                                      (json_int_t)s->lost_arrivals, "cancelled", (json_int_t)s->cancelled, "returned",
                                      (json_int_t)s->returned, "restocked", (json_int_t)s->restocked, "writes",
                                      (json_int_t)s->writes, "zero_ms", (json_int_t)zero));
    }
    return j;
}

json_t *oc_sim_account_json(oc_sim_t *sim, oc_sim_account_t *a, const char *base, int full)
{
    char url[400], created[32];
    oc_time_format(created, a->created_ms, OC_TIME_MS);
    json_t *cred = json_object();
    switch (a->channel) {
    case OC_SIM_SHOPIFY:
        snprintf(url, sizeof(url), "%s/shopify/%s", base, a->name);
        json_object_set_new(cred, "shop_domain", json_sprintf("%s.myshopify.com", a->name));
        json_object_set_new(cred, "access_token", json_string(a->offline_token));
        if (a->expiring)
            json_object_set_new(cred, "refresh_token", json_string(a->refresh_token));
        json_object_set_new(cred, "client_id", json_string(a->client_id));
        json_object_set_new(cred, "client_secret", json_string(a->client_secret));
        json_object_set_new(cred, "webhook_secret", json_string(a->webhook.secret));
        json_object_set_new(cred, "location_id", json_integer(a->location_id));
        break;
    case OC_SIM_AMAZON:
        snprintf(url, sizeof(url), "%s/amazon", base);
        json_object_set_new(cred, "seller_id", json_string(a->seller_id));
        json_object_set_new(cred, "marketplace_id", json_string(a->marketplace_id));
        json_object_set_new(cred, "marketplace_ids", json_string(a->marketplaces));
        json_object_set_new(cred, "client_id", json_string(a->client_id));
        json_object_set_new(cred, "client_secret", json_string(a->client_secret));
        json_object_set_new(cred, "refresh_token", json_string(a->refresh_token));
        json_object_set_new(cred, "token_url", json_sprintf("%s/amazon/auth/o2/token", base));
        break;
    case OC_SIM_WALMART:
        snprintf(url, sizeof(url), "%s/walmart", base);
        json_object_set_new(cred, "client_id", json_string(a->client_id));
        json_object_set_new(cred, "client_secret", json_string(a->client_secret));
        json_object_set_new(cred, "ship_node", json_string(a->ship_node));
        json_object_set_new(cred, "partner_id", json_string(a->seller_id));
        json_object_set_new(cred, "token_url", json_sprintf("%s/walmart/v3/token", base));
        break;
    default: break;
    }
    json_t *j = json_pack("{s:i, s:s, s:s, s:s, s:s, s:o, s:i, s:I}", "id", a->id, "channel", channel_names[a->channel],
                          "name", a->name, "created_at", created, "base_url", url, "credentials", cred, "token_ttl_s",
                          a->token_ttl_s, "seed", (json_int_t)a->seed);
    json_t *skus = json_array();
    long long sold = 0, oversold = 0, stockouts = 0;
    for (size_t i = 0; i < a->skus.len; i++) {
        oc_sim_sku_t *s = a->skus.items[i];
        sold += s->sold;
        oversold += s->oversold;
        stockouts += s->stockouts;
        json_array_append_new(skus, sku_json(a, s, full));
    }
    json_object_set_new(j, "skus", skus);
    json_object_set_new(j, "totals",
                        json_pack("{s:I, s:I, s:I, s:I}", "orders", (json_int_t)a->orders.len, "sold", (json_int_t)sold,
                                  "oversold", (json_int_t)oversold, "stockouts", (json_int_t)stockouts));
    if (full) {
        json_object_set_new(j, "limits", limits_json(a));
        json_object_set_new(j, "faults", oc_sim_faults_json(&a->faults));
        if (a->channel == OC_SIM_SHOPIFY)
            json_object_set_new(j, "webhook", webhook_json(a));
        else
            json_object_set_new(j, "delays",
                                json_pack("{s:i, s:i, s:i, s:i, s:i, s:b}", "apply_delay_ms", a->apply_delay_ms,
                                          "feed_queue_ms", a->feed_queue_ms, "feed_process_ms", a->feed_process_ms,
                                          "report_ms", a->report_ms, "pending_ms", a->pending_ms, "report_gzip",
                                          a->report_gzip));
        json_object_set_new(j, "generator", oc_sim_generator_json(a));
    }
    return j;
}

/* --- tokens ---------------------------------------------------------------------- */

static void tokens_sweep(oc_sim_t *sim)
{
    uint64_t now = oc_now_ms();
    for (size_t i = 0; i < sim->tokens.cap; i++) {
        oc_sim_map_slot_t *s = &sim->tokens.slots[i];
        if (!OC_SIM_MAP_LIVE(s))
            continue;
        oc_sim_token_t *t = s->val;
        /* keep recently expired ones so clients are told "expired", not "invalid" */
        if (t->expires_ms != 0 && t->expires_ms + 600000 < now)
            free(oc_sim_map_del(&sim->tokens, s->key));
    }
}

void oc_sim_token_issue(oc_sim_t *sim, oc_sim_account_t *a, const char *prefix, int ttl_s, char *out, size_t cap)
{
    char hex[65];
    oc_random_hex(hex, 24);
    snprintf(out, cap, "%s%s", prefix, hex);
    oc_sim_token_t *t = oc_calloc(1, sizeof(*t));
    t->account_id = a->id;
    t->expires_ms = ttl_s > 0 ? oc_now_ms() + (uint64_t)ttl_s * 1000 : 0;
    oc_sim_map_put(&sim->tokens, out, t);
    if (sim->tokens.len > 4096 && sim->tokens.len % 512 == 0)
        tokens_sweep(sim);
}

oc_sim_account_t *oc_sim_token_check(oc_sim_t *sim, const char *token, int *expired)
{
    *expired = 0;
    if (token == NULL || *token == '\0')
        return NULL;
    oc_sim_token_t *t = oc_sim_map_get(&sim->tokens, token);
    if (t == NULL || t->kind != OC_SIM_TOKEN_ACCESS)
        return NULL;
    if (t->expires_ms != 0 && t->expires_ms <= oc_now_ms()) {
        *expired = 1;
        return NULL;
    }
    return oc_sim_account_find(sim, t->account_id);
}

void oc_sim_tokens_expire(oc_sim_t *sim, int account_id)
{
    uint64_t now = oc_now_ms();
    for (size_t i = 0; i < sim->tokens.cap; i++) {
        oc_sim_map_slot_t *s = &sim->tokens.slots[i];
        if (OC_SIM_MAP_LIVE(s) && ((oc_sim_token_t *)s->val)->account_id == account_id)
            ((oc_sim_token_t *)s->val)->expires_ms = now > 0 ? now - 1 : 0;
    }
}

/* --- request log ------------------------------------------------------------------ */

static void log_entry_clear(oc_sim_log_entry_t *e)
{
    free(e->path);
    free(e->query);
    json_decref(e->writes);
    json_decref(e->capture);
    memset(e, 0, sizeof(*e));
}

void oc_sim_log_init(oc_sim_t *sim, size_t cap)
{
    oc_sim_log_free(sim);
    sim->log = oc_calloc(cap, sizeof(*sim->log));
    sim->log_cap = cap;
}

void oc_sim_log_free(oc_sim_t *sim)
{
    for (size_t i = 0; i < sim->log_cap; i++)
        log_entry_clear(&sim->log[i]);
    free(sim->log);
    sim->log = NULL;
    sim->log_cap = sim->log_len = sim->log_head = 0;
}

void oc_sim_log_add(oc_sim_t *sim, oc_sim_req_t *r)
{
    if (sim->log_cap == 0)
        return;
    oc_sim_log_entry_t *e = &sim->log[(sim->log_head + sim->log_len) % sim->log_cap];
    if (sim->log_len == sim->log_cap) {
        sim->log_head = (sim->log_head + 1) % sim->log_cap;
        log_entry_clear(e);
    } else {
        sim->log_len++;
    }
    e->id = ++sim->next_log_id;
    e->ts_ms = oc_now_ms();
    e->account_id = r->acct != NULL ? r->acct->id : 0;
    e->channel = r->ch == &oc_sim_shopify_ops   ? 0
                 : r->ch == &oc_sim_amazon_ops  ? 1
                 : r->ch == &oc_sim_walmart_ops ? 2
                                                : -1;
    snprintf(e->method, sizeof(e->method), "%s", r->method);
    e->path = oc_strdup(r->path);
    /* token endpoints may carry secrets and presigned URLs a signature in the query: keep them out */
    e->query =
        r->query != NULL && (r->route == NULL || !(r->route->flags & OC_SIM_NOAUTH)) ? oc_strdup(r->query) : NULL;
    e->op = r->op;
    e->status = r->status;
    e->ms = (double)(oc_mono_us() - r->start_us) / 1000.0;
    e->fault = r->fault;
    e->writes = r->writes;
    r->writes = NULL;
    e->capture = sim->capture ? oc_sim_capture(r) : NULL;
}

json_t *oc_sim_log_query(oc_sim_t *sim, int account_id, long long since, size_t limit, const char *path_contains,
                         int with_capture)
{
    json_t *arr = json_array();
    long long last = since;
    for (size_t i = 0; i < sim->log_len && json_array_size(arr) < limit; i++) {
        oc_sim_log_entry_t *e = &sim->log[(sim->log_head + i) % sim->log_cap];
        if (e->id <= since || (account_id > 0 && e->account_id != account_id))
            continue;
        if (path_contains != NULL && (e->path == NULL || strstr(e->path, path_contains) == NULL))
            continue;
        char ts[32];
        oc_time_format(ts, e->ts_ms, OC_TIME_MS);
        json_t *j = json_pack("{s:I, s:s, s:I, s:i, s:s?, s:s, s:s, s:s?, s:s?, s:i, s:f}", "id", (json_int_t)e->id,
                              "time", ts, "ts_ms", (json_int_t)e->ts_ms, "account", e->account_id, "channel",
                              e->channel >= 0 ? channel_names[e->channel] : NULL, "method", e->method, "path", e->path,
                              "query", e->query, "op", e->op, "status", e->status, "ms", e->ms);
        if (e->fault != NULL)
            json_object_set_new(j, "fault", json_string(e->fault));
        if (e->writes != NULL)
            json_object_set(j, "writes", e->writes);
        if (with_capture && e->capture != NULL)
            json_object_update(j, e->capture);
        json_array_append_new(arr, j);
        last = e->id;
    }
    return json_pack("{s:o, s:I, s:I}", "requests", arr, "next_since", (json_int_t)last, "latest_id",
                     (json_int_t)sim->next_log_id);
}

/* --- scheduled events --------------------------------------------------------------- */

struct oc_sim_event {
    oc_timer_t timer;
    h2o_linklist_t link;
    oc_sim_t *sim;
    int account_id;
    oc_sim_event_fn fn;
    long long obj;
    int arg;
};

static void on_event(oc_timer_t *t)
{
    oc_sim_event_t *ev = t->data;
    h2o_linklist_unlink(&ev->link);
    oc_sim_account_t *a = oc_sim_account_find(ev->sim, ev->account_id);
    if (a != NULL)
        ev->fn(ev->sim, a, ev->obj, ev->arg);
    free(ev);
}

void oc_sim_schedule(oc_sim_t *sim, oc_sim_account_t *a, uint64_t delay_ms, oc_sim_event_fn fn, long long obj, int arg)
{
    oc_sim_event_t *ev = oc_calloc(1, sizeof(*ev));
    ev->sim = sim;
    ev->account_id = a->id;
    ev->fn = fn;
    ev->obj = obj;
    ev->arg = arg;
    oc_timer_init(&ev->timer, on_event, ev);
    h2o_linklist_insert(&sim->events, &ev->link);
    oc_timer_start(sim->loop, &ev->timer, delay_ms);
}

void oc_sim_events_clear(oc_sim_t *sim)
{
    while (!h2o_linklist_is_empty(&sim->events)) {
        oc_sim_event_t *ev = H2O_STRUCT_FROM_MEMBER(oc_sim_event_t, link, sim->events.next);
        oc_timer_stop(sim->loop, &ev->timer);
        h2o_linklist_unlink(&ev->link);
        free(ev);
    }
}

/* --- delayed work of Amazon and Walmart accounts ------------------------------------- */

static void on_jobs_timer(oc_timer_t *t)
{
    oc_sim_account_t *a = t->data;
    if (a->channel == OC_SIM_AMAZON)
        oc_sim_amazon_catch_up(a->sim, a);
    else
        oc_sim_walmart_catch_up(a->sim, a);
    oc_sim_jobs_arm(a->sim, a);
}

void oc_sim_jobs_arm(oc_sim_t *sim, oc_sim_account_t *a)
{
    uint64_t next = UINT64_MAX, now = oc_now_ms();
    if (a->patches.len > 0)
        next = ((oc_sim_patch_t *)a->patches.items[0])->due_ms;
    oc_sim_vec_t *jobs[2] = {&a->feeds, &a->reports};
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < jobs[k]->len; i++) {
            oc_sim_job_t *j = jobs[k]->items[i];
            if (!j->applied && j->done_ms < next)
                next = j->done_ms;
        }
    if (next == UINT64_MAX) {
        oc_timer_stop(sim->loop, &a->apply_timer);
        return;
    }
    oc_timer_stop(sim->loop, &a->apply_timer);
    oc_timer_init(&a->apply_timer, on_jobs_timer, a);
    oc_timer_start(sim->loop, &a->apply_timer, next > now ? next - now : 0);
}

/* --- reset ---------------------------------------------------------------------------- */

void oc_sim_reset(oc_sim_t *sim)
{
    oc_sim_events_clear(sim);
    oc_sim_webhooks_cancel(sim->webhooks, -1);
    for (size_t i = 0; i < sim->accounts.len; i++)
        oc_sim_account_destroy(sim, sim->accounts.items[i]);
    oc_sim_vec_free(&sim->accounts, NULL);
    oc_sim_map_free(&sim->account_map);
    oc_sim_map_free(&sim->shops);
    for (size_t i = 0; i < sim->tokens.cap; i++)
        if (OC_SIM_MAP_LIVE(&sim->tokens.slots[i]))
            free(sim->tokens.slots[i].val);
    oc_sim_map_free(&sim->tokens);
    for (size_t i = 0; i < sim->docs.cap; i++)
        if (OC_SIM_MAP_LIVE(&sim->docs.slots[i]))
            oc_sim_doc_free(sim->docs.slots[i].val);
    oc_sim_map_free(&sim->docs);
    oc_sim_faults_clear(&sim->faults);
    sim->next_account_id = 0;
    sim->next_item_id = 40000000000LL;
    sim->next_order_seq = 0;
    sim->next_job_seq = 0;
    oc_sim_log_init(sim, sim->log_want > 0 ? sim->log_want : 20000);
    sim->next_log_id = 0;
}
