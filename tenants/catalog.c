/*
 * catalog.c — the SKU reference cache (see catalog.h).
 */
#include "tenants/catalog.h"
#include "runtime/config.h"
#include "runtime/pglisten.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#define SETS           65536     /* of WAYS entries: about 36 MB, shared by the threads */
#define WAYS           4         /* a code may sit in any entry of its set: codes rarely push each other out */
#define STRIPES        64        /* locks over the sets */
#define TTL_US         30000000  /* a known code, while catalog changes of other processes go unheard */
#define TTL_WATCHED_US 600000000 /* a known code, while they are heard (LISTEN oc_catalog) */
#define TTL_UNKNOWN_US 2000000   /* an unknown code (another process may be creating it) */

/* Every catalog write in this process, and every one PostgreSQL announces on
 * oc_catalog (any process's), moves the epoch: entries of older epochs are gone. */
static atomic_uint catalog_epoch = 1;
static atomic_int catalog_watched; /* 1 while the LISTEN on oc_catalog is in place */

void oc_catalog_invalidate(void)
{
    atomic_fetch_add(&catalog_epoch, 1);
}

/* Compact: a bundle's components live in their own allocation (most SKUs are simple). */
typedef struct {
    char tenant[37];
    char code[65];
    unsigned char known, is_bundle, ncomp;
    unsigned epoch;
    uint64_t stored_us;
    long long sku_id;
    struct oc_sku_comp {
        long long sku_id, qty;
    } * comp;
} entry_t;

/*
 * One cache for the process, not one per thread: a code one thread looked up
 * serves the others (requests land on threads at random), and a thread's
 * lookups are not repeated by the next.  Set i is guarded by stripe i % STRIPES;
 * entries are copied out under the lock, never referenced after it.  A new
 * code takes its set's free or oldest entry.
 */
static entry_t *slots;
static pthread_mutex_t stripes[STRIPES];
static pthread_once_t slots_once = PTHREAD_ONCE_INIT;

static void slots_init(void)
{
    slots = oc_calloc((size_t)SETS * WAYS, sizeof(entry_t));
    for (int i = 0; i < STRIPES; i++)
        pthread_mutex_init(&stripes[i], NULL);
}

static entry_t *slots_get(void)
{
    pthread_once(&slots_once, slots_init);
    return slots;
}

/* The LISTEN, on the thread oc_catalog_watch() was given. */
typedef struct {
    oc_thread_t *th;
    oc_pglisten_t *watch;
    oc_timer_t watch_timer;
} watch_t;

static void watch_dispose(void *p)
{
    watch_t *w = p;
    oc_timer_stop(w->th->loop, &w->watch_timer);
    oc_pglisten_destroy(w->watch);
    atomic_store(&catalog_watched, 0);
    free(w);
}

/* --- hearing other processes' catalog changes ----------------------------------------- */

static void on_catalog_notify(void *arg, const char *channel, const char *payload)
{
    oc_catalog_invalidate();
}

static void on_watch_up(void *arg)
{
    /* Changes made while the LISTEN was down went unheard. */
    oc_catalog_invalidate();
    atomic_store(&catalog_watched, 1);
}

/* The connection may drop at any time: look once a second whether it still listens. */
static void watch_tick(oc_timer_t *t)
{
    watch_t *w = t->data;
    if (!oc_pglisten_ready(w->watch))
        atomic_store(&catalog_watched, 0);
    oc_timer_start(w->th->loop, &w->watch_timer, 1000);
}

static const char catalog_slot;

void oc_catalog_watch(oc_thread_t *th)
{
    if (oc_thread_slot(th, &catalog_slot) != NULL)
        return;
    watch_t *w = oc_calloc(1, sizeof(*w));
    static const char *const channels[] = {"oc_catalog", NULL};
    if ((w->watch = oc_pglisten_create(th->loop, oc_config.database_url, channels, on_catalog_notify, on_watch_up,
                                       NULL)) == NULL) {
        free(w);
        return;
    }
    w->th = th;
    oc_timer_init(&w->watch_timer, watch_tick, w);
    oc_timer_start(th->loop, &w->watch_timer, 1000);
    oc_thread_set_slot(th, &catalog_slot, w, watch_dispose);
}

static void entry_to_ref(const entry_t *e, oc_sku_ref_t *ref)
{
    ref->sku_id = e->sku_id;
    ref->is_bundle = e->is_bundle;
    ref->ncomp = e->ncomp;
    for (int k = 0; k < e->ncomp; k++) {
        ref->comp[k].sku_id = e->comp[k].sku_id;
        ref->comp[k].qty = e->comp[k].qty;
    }
}

static unsigned set_of(const char *tenant, const char *code)
{
    unsigned h = 2166136261u;
    for (const char *p = tenant; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    for (const char *p = code; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return h % SETS;
}

static int entry_is(const entry_t *e, const char *tenant, const char *code)
{
    return strcmp(e->tenant, tenant) == 0 && strcmp(e->code, code) == 0;
}

/* 1 and *known (and *ref when known) filled from a live entry; 0 on a miss. */
static int lookup(const char *tenant, const char *code, int *known, oc_sku_ref_t *ref)
{
    unsigned i = set_of(tenant, code);
    entry_t *set = &slots_get()[(size_t)i * WAYS];
    uint64_t now = oc_mono_us();
    int hit = 0;
    pthread_mutex_lock(&stripes[i % STRIPES]);
    for (int w = 0; w < WAYS && !hit; w++) {
        const entry_t *e = &set[w];
        if (!entry_is(e, tenant, code) || e->epoch != atomic_load(&catalog_epoch))
            continue;
        uint64_t ttl = !e->known ? TTL_UNKNOWN_US : atomic_load(&catalog_watched) ? TTL_WATCHED_US : TTL_US;
        if (e->stored_us + ttl > now) {
            hit = 1;
            *known = e->known;
            if (e->known)
                entry_to_ref(e, ref);
        }
    }
    pthread_mutex_unlock(&stripes[i % STRIPES]);
    return hit;
}

/*
 * One resolution.  Its answers are copied here, never read back from the
 * cache: two codes of one request may share a set, and other requests may
 * overwrite an entry while this one waits for PostgreSQL.
 */
typedef struct {
    oc_thread_t *th;
    char tenant[37];
    int n;
    char codes[100][65];
    unsigned char answered[100], known[100];
    oc_catalog_cb cb;
    void *arg;
    oc_sku_ref_t refs[]; /* n of them */
} pending_t;

OC_DB_STMT(catalog_refs, 2,
           "SELECT s.code, s.id, s.kind = 'bundle',"
           " coalesce((SELECT json_agg(json_build_array(bc.component_id, bc.qty) ORDER BY bc.component_id)"
           "           FROM bundle_components bc WHERE bc.tenant_id = s.tenant_id AND bc.bundle_id = s.id), '[]')"
           " FROM skus s WHERE s.tenant_id = $1 AND s.code = ANY ($2::text[])");

static void deliver(pending_t *p)
{
    const oc_sku_ref_t *refs[100];
    for (int i = 0; i < p->n; i++)
        refs[i] = p->known[i] ? &p->refs[i] : NULL;
    p->cb(p->arg, NULL, refs);
}

static void parse_ref(oc_sku_ref_t *ref, const PGresult *r, int row)
{
    memset(ref, 0, sizeof(*ref));
    ref->sku_id = strtoll(PQgetvalue(r, row, 1), NULL, 10);
    ref->is_bundle = PQgetvalue(r, row, 2)[0] == 't';
    json_t *comps = json_loads(PQgetvalue(r, row, 3), 0, NULL);
    size_t k;
    json_t *pair;
    json_array_foreach(comps, k, pair)
    {
        if (ref->ncomp == OC_CATALOG_MAX_COMPONENTS)
            break;
        ref->comp[ref->ncomp].sku_id = (long long)json_integer_value(json_array_get(pair, 0));
        ref->comp[ref->ncomp].qty = (long long)json_integer_value(json_array_get(pair, 1));
        ref->ncomp++;
    }
    json_decref(comps);
}

static void cache_put(const char *tenant, const char *code, const oc_sku_ref_t *ref)
{
    unsigned i = set_of(tenant, code);
    entry_t *set = &slots_get()[(size_t)i * WAYS];
    pthread_mutex_lock(&stripes[i % STRIPES]);
    /* The code's own entry, else a free one, else the oldest (an entry of an
     * older epoch is as good as free). */
    entry_t *e = NULL;
    for (int w = 0; w < WAYS && e == NULL; w++)
        if (entry_is(&set[w], tenant, code))
            e = &set[w];
    for (int w = 0; w < WAYS && e == NULL; w++)
        if (set[w].tenant[0] == '\0' || set[w].epoch != atomic_load(&catalog_epoch))
            e = &set[w];
    if (e == NULL) {
        e = &set[0];
        for (int w = 1; w < WAYS; w++)
            if (set[w].stored_us < e->stored_us)
                e = &set[w];
    }
    free(e->comp);
    memset(e, 0, sizeof(*e));
    oc_strlcpy(e->tenant, tenant, strlen(tenant), sizeof(e->tenant));
    oc_strlcpy(e->code, code, strlen(code), sizeof(e->code));
    e->epoch = atomic_load(&catalog_epoch);
    e->stored_us = oc_mono_us();
    e->known = ref != NULL;
    if (ref != NULL) {
        e->sku_id = ref->sku_id;
        e->is_bundle = (unsigned char)ref->is_bundle;
        e->ncomp = (unsigned char)ref->ncomp;
        if (ref->ncomp > 0)
            e->comp = oc_malloc((size_t)ref->ncomp * sizeof(*e->comp));
        for (int k = 0; k < ref->ncomp; k++) {
            e->comp[k].sku_id = ref->comp[k].sku_id;
            e->comp[k].qty = ref->comp[k].qty;
        }
    }
    pthread_mutex_unlock(&stripes[i % STRIPES]);
}

static void on_refs(void *arg, const oc_db_result_t *res)
{
    pending_t *p = arg;
    if (res->err != NULL) {
        p->cb(p->arg, res, NULL);
        free(p);
        return;
    }
    const PGresult *r = res->results[0];
    for (int row = 0; row < PQntuples(r); row++) {
        const char *code = PQgetvalue(r, row, 0);
        int first = -1;
        for (int i = 0; i < p->n; i++) {
            if (p->answered[i] || strcmp(p->codes[i], code) != 0)
                continue;
            if (first < 0)
                parse_ref(&p->refs[first = i], r, row);
            else
                p->refs[i] = p->refs[first];
            p->known[i] = p->answered[i] = 1;
        }
        if (first >= 0)
            cache_put(p->tenant, code, &p->refs[first]);
    }
    /* What PostgreSQL did not return does not exist (now). */
    for (int i = 0; i < p->n; i++)
        if (!p->answered[i]) {
            p->answered[i] = 1;
            cache_put(p->tenant, p->codes[i], NULL);
        }
    deliver(p);
    free(p);
}

int oc_catalog_resolve(oc_thread_t *th, const char *tenant, const char *const *codes, int n, oc_catalog_cb cb,
                       void *arg)
{
    if (n < 0 || n > 100)
        return OC_EINVAL;
    pending_t *p = oc_calloc(1, sizeof(*p) + (size_t)n * sizeof(oc_sku_ref_t));
    p->th = th;
    p->cb = cb;
    p->arg = arg;
    p->n = n;
    oc_strlcpy(p->tenant, tenant, strlen(tenant), sizeof(p->tenant));
    int misses = 0;
    oc_buf_t arr = {0};
    for (int i = 0; i < n; i++) {
        oc_strlcpy(p->codes[i], codes[i], strlen(codes[i]), sizeof(p->codes[i]));
        int known;
        if (lookup(tenant, codes[i], &known, &p->refs[i])) {
            p->answered[i] = 1;
            p->known[i] = (unsigned char)known;
            continue;
        }
        misses++;
        oc_db_array_add(&arr, codes[i]);
    }
    if (misses == 0) {
        oc_buf_free(&arr);
        deliver(p);
        free(p);
        return 0;
    }
    const char *params[2] = {tenant, oc_db_array_end(&arr)};
    int rc = oc_db_exec(th->db, tenant, &catalog_refs, params, on_refs, p);
    oc_buf_free(&arr);
    if (rc != 0)
        free(p);
    return rc;
}

int oc_catalog_expand(const oc_sku_ref_t *const *refs, const long long *qty, int n, long long *out_sku,
                      long long *out_qty, int cap)
{
    int m = 0;
    for (int i = 0; i < n; i++) {
        const oc_sku_ref_t *r = refs[i];
        int parts = r->is_bundle ? r->ncomp : 1;
        for (int k = 0; k < parts; k++) {
            long long sku = r->is_bundle ? r->comp[k].sku_id : r->sku_id;
            long long q = r->is_bundle ? r->comp[k].qty * qty[i] : qty[i];
            int j = 0;
            while (j < m && out_sku[j] != sku)
                j++;
            if (j == m) {
                if (m == cap)
                    return -1;
                out_sku[m] = sku;
                out_qty[m++] = 0;
            }
            out_qty[j] += q;
        }
    }
    /* Sort by sku id (insertion sort: a handful of entries). */
    for (int i = 1; i < m; i++) {
        long long s = out_sku[i], q = out_qty[i];
        int j = i - 1;
        while (j >= 0 && out_sku[j] > s) {
            out_sku[j + 1] = out_sku[j];
            out_qty[j + 1] = out_qty[j];
            j--;
        }
        out_sku[j + 1] = s;
        out_qty[j + 1] = q;
    }
    return m;
}

void oc_catalog_lines_of(const oc_sku_ref_t *const *refs, int n, const long long *skus, int nskus, int *line_of)
{
    for (int j = 0; j < nskus; j++) {
        line_of[j] = 0;
        for (int i = 0; i < n; i++) {
            int hit = refs[i]->sku_id == skus[j];
            for (int k = 0; refs[i]->is_bundle && k < refs[i]->ncomp; k++)
                hit |= refs[i]->comp[k].sku_id == skus[j];
            if (hit)
                line_of[j] = i;
        }
    }
}
