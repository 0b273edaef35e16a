/*
 * import_jobs.c — CSV import jobs (see import_jobs.h): create, prepare,
 * check, apply, finish, and the reads.
 *
 * The job runs on the loop thread that created it, as an oc_import_job_t
 * that outlives the request that asked for it:
 *
 *   prepare  work pool   parse and check every row on its own (tenants/imports.c)
 *   check    database    one transaction per chunk: its rows against the brand
 *                        (codes that exist or not, bundles), then rows_done
 *   apply    database    real runs without a bad row: ONE transaction, a step
 *                        per chunk (arrays through unnest), an ANALYZE of what
 *                        it wrote, the job's 'done' and the audit record as its
 *                        last step; rows_done is written from another
 *                        connection as steps complete
 *   finish   database    'done' or 'failed' with the errors and the summary
 *
 * Counts are recorded as `count` movements, exactly as POST /movements
 * records one (migrations/0003 ledger_post): on_hand becomes the number
 * counted, the movement holds the delta and the balances after, so a
 * replay of the ledger still equals the balances.  They are written by
 * import_apply_counts (migrations/0005) rather than ledger_post, whose
 * per-request JSON answer grows with every line (quadratic for a
 * 100,000-row file), after every balance is locked in sku order, as
 * ledger_post does, so an import and concurrent sales never deadlock.
 *
 * Listings are written as POST /listings writes them (migrations/0004):
 * the balances they are computed from locked FOR SHARE in SKU order first,
 * then the rows (a new (connection, SKU) inserted; one already mapped
 * updated as PATCH /listings/{id} does, an empty cell keeping the current
 * value; an unchanged row not written), then listings_refresh over the
 * file's SKUs, which recomputes the desired quantities and wakes the sync
 * workers.  One audit record for the import ('import.apply', with created,
 * updated and unchanged counted at the check), as for the other types.
 */
#include "tenants/import_jobs.h"
#include "runtime/alloc.h"
#include "runtime/config.h"
#include "runtime/log.h"
#include "tenants/catalog.h"
#include "tenants/holds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Apply: [lock] + one step per chunk + [refresh] + analyze + done in one transaction. */
#define MAX_CHUNKS        (OC_DB_MAX_STEPS - 4)
#define PROGRESS_EVERY_MS 200
#define PUBLISH_SLICE     2000

/* --- statements ------------------------------------------------------------------------------- */

OC_DB_STMT(job_insert, 8,
           "WITH j AS (INSERT INTO import_jobs (tenant_id, id, type, dry_run, bytes, created_by, created_by_token,"
           "   request_id) VALUES ($1, $2::uuid, $3, $4::bool, $5::bigint, $6::uuid, $7::uuid, $8) RETURNING *)"
           " SELECT idem_result(202, import_job_json(j, true)::jsonb),"
           "   audit_write($1, NULL, $6::uuid, $7::uuid, 'import.create', 'import', $2::text,"
           "   jsonb_build_object('type', $3::text, 'dry_run', $4::bool, 'bytes', $5::bigint), $8)"
           " FROM j");
OC_DB_STMT(job_get, 2, "SELECT import_job_json(j, true) FROM import_jobs j WHERE j.tenant_id = $1 AND j.id = $2::uuid");
OC_DB_STMT(jobs_list, 5,
           "SELECT import_job_json(j, false) FROM import_jobs j WHERE j.tenant_id = $1"
           "   AND ($2::text IS NULL OR j.type = $2)"
           "   AND ($3::text IS NULL OR (j.created_at, j.id) < ($3::timestamptz, $4::uuid))"
           " ORDER BY j.created_at DESC, j.id DESC LIMIT $5");
OC_DB_STMT(job_checked, 4,
           "UPDATE import_jobs SET rows_total = $4::int, rows_done = $3::int, updated_at = now()"
           " WHERE tenant_id = $1 AND id = $2::uuid AND status = 'validating'");
OC_DB_STMT(job_applying, 2,
           "UPDATE import_jobs SET status = 'applying', rows_done = 0, updated_at = now()"
           " WHERE tenant_id = $1 AND id = $2::uuid AND status = 'validating' RETURNING id");
OC_DB_STMT(job_applied_rows, 3,
           "UPDATE import_jobs SET rows_done = greatest(rows_done, $3::int), updated_at = now()"
           " WHERE tenant_id = $1 AND id = $2::uuid AND status = 'applying'");
OC_DB_STMT(job_analyze, 1, "SELECT import_analyze($1)");
OC_DB_STMT(job_applied, 7, "SELECT import_job_applied($1, $2::uuid, $3::int, $4::jsonb, $5::uuid, $6::uuid, $7)");
OC_DB_STMT(job_finish, 8,
           "UPDATE import_jobs SET status = $3, rows_total = $4::int, rows_done = $5::int, errors = $6::jsonb,"
           "   errors_total = $7::int, summary = $8::jsonb, finished_at = now(), updated_at = now()"
           " WHERE tenant_id = $1 AND id = $2::uuid");

/*
 * Checks against the brand: (line, column, reason) of every bad row of a
 * chunk.  Every look-up of the brand is a scalar subquery, a unique-index
 * probe per row: a join here would be planned from statistics that a bulk
 * import has just made stale (a brand of 50,000 SKUs estimated at one row),
 * and such plans go quadratic.  The apply statements follow the same rule.
 */
OC_DB_STMT(check_skus, 3,
           "SELECT u.line, 'code', 'a SKU with this code already exists in the brand'"
           " FROM unnest($2::int[], $3::text[]) AS u(line, code)"
           " WHERE (SELECT true FROM skus s WHERE s.tenant_id = $1 AND s.code = u.code) ORDER BY u.line");
OC_DB_STMT(check_bundles, 4,
           "WITH u AS MATERIALIZED (SELECT u.line, u.comp,"
           "   (SELECT true FROM skus s WHERE s.tenant_id = $1 AND s.code = u.bundle) AS taken,"
           "   (SELECT s.kind FROM skus s WHERE s.tenant_id = $1 AND s.code = u.comp) AS comp_kind"
           "   FROM unnest($2::int[], $3::text[], $4::text[]) AS u(line, bundle, comp))"
           " SELECT line, 'bundle_code', 'a SKU with this code already exists in the brand' FROM u WHERE taken"
           " UNION ALL"
           " SELECT line, 'component_code', CASE WHEN comp_kind IS NULL THEN format('no SKU %s in this brand', comp)"
           "   ELSE format('%s is a bundle; a component is a simple SKU', comp) END"
           "   FROM u WHERE comp IS NOT NULL AND comp_kind IS DISTINCT FROM 'simple'"
           " ORDER BY 1, 2");
OC_DB_STMT(check_counts, 3,
           "WITH u AS MATERIALIZED (SELECT u.line, u.code,"
           "   (SELECT s.kind FROM skus s WHERE s.tenant_id = $1 AND s.code = u.code) AS kind"
           "   FROM unnest($2::int[], $3::text[]) AS u(line, code) WHERE u.code IS NOT NULL)"
           " SELECT line, 'code', CASE WHEN kind IS NULL THEN format('no SKU %s in this brand', code)"
           "   ELSE format('%s is a bundle: its stock is its components''; count those', code) END"
           " FROM u WHERE kind IS DISTINCT FROM 'simple' ORDER BY line");

/*
 * Listings: a row's connection is its id or its name (names are unique in a
 * brand; a value that is one connection's id and another's name is
 * ambiguous), its SKU a code of the brand.  Resolved the same way by the
 * check and by the apply.
 */
#define LISTING_ROWS                                                                                                   \
    "WITH u AS MATERIALIZED (SELECT u.line, u.conn, u.sku, u.ext, u.item, u.loc,"                                      \
    "   (SELECT c.id FROM channel_connections c WHERE c.tenant_id = $1 AND c.id = CASE WHEN u.conn"                    \
    "     ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN u.conn::uuid END) AS by_id,"        \
    "   (SELECT c.id FROM channel_connections c WHERE c.tenant_id = $1 AND c.name = u.conn) AS by_name,"               \
    "   (SELECT k.id FROM skus k WHERE k.tenant_id = $1 AND k.code = u.sku) AS sku_id"                                 \
    "   FROM unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])"                            \
    "     AS u(line, conn, sku, ext, item, loc)),"                                                                     \
    " r AS MATERIALIZED (SELECT u.*, coalesce(u.by_id, u.by_name) AS conn_id FROM u)"
/*
 * The bad rows, then (line NULL) how many rows would create, update or leave
 * a listing unchanged.  An empty external_sku is the current one, or the SKU
 * code for a new listing (as POST /listings); that value must be free on
 * the connection: listings are unique by (connection, external_sku).
 */
OC_DB_STMT(
    check_listings, 7,
    LISTING_ROWS
    ","
    " x AS MATERIALIZED (SELECT r.*, cur.id AS cur_id, cur.external_sku AS cur_ext, cur.item_ref AS cur_item,"
    "   cur.location_ref AS cur_loc, coalesce(r.ext, cur.external_sku, r.sku) AS new_ext"
    "   FROM r LEFT JOIN LATERAL (SELECT l.id, l.external_sku, l.item_ref, l.location_ref FROM listings l"
    "     WHERE l.tenant_id = $1 AND l.connection_id = r.conn_id AND l.sku_id = r.sku_id LIMIT 1) cur ON true),"
    " y AS MATERIALIZED (SELECT x.*,"
    "   (SELECT k.code FROM listings l, skus k WHERE l.tenant_id = $1 AND l.connection_id = x.conn_id"
    "     AND l.external_sku = x.new_ext AND l.sku_id <> x.sku_id AND k.tenant_id = $1 AND k.id = l.sku_id"
    "     LIMIT 1) AS taken_by,"
    "   min(x.line) OVER (PARTITION BY x.conn_id, x.sku_id) AS first_pair,"
    "   min(x.line) OVER (PARTITION BY x.conn_id, x.new_ext) AS first_ext"
    "   FROM x)"
    " SELECT line, 'connection'::text, format('no connection %s in this brand (give its id or its name)', conn),"
    "   NULL::bigint FROM y WHERE conn IS NOT NULL AND by_id IS NULL AND by_name IS NULL"
    " UNION ALL SELECT line, 'connection', format('%s is the id of one connection and the name of another; "
    "give the id', conn), NULL FROM y WHERE by_id <> by_name"
    " UNION ALL SELECT line, 'sku', format('no SKU %s in this brand', sku), NULL"
    "   FROM y WHERE sku IS NOT NULL AND sku_id IS NULL"
    " UNION ALL SELECT line, 'sku', format('%s is mapped to this connection twice in the file (first on line %s)',"
    "   sku, first_pair), NULL FROM y WHERE conn_id IS NOT NULL AND sku_id IS NOT NULL AND first_pair < line"
    " UNION ALL SELECT line, 'external_sku', format('external_sku %s is used twice on this connection in the "
    "file (first on line %s)', new_ext, first_ext), NULL"
    "   FROM y WHERE conn_id IS NOT NULL AND new_ext IS NOT NULL AND first_ext < line"
    "   AND first_pair IS DISTINCT FROM first_ext"
    " UNION ALL SELECT line, 'external_sku', format('another listing on this connection (SKU %s) already uses "
    "external_sku %s', taken_by, new_ext), NULL FROM y WHERE taken_by IS NOT NULL"
    " UNION ALL SELECT NULL, o, NULL, count(*) FROM (SELECT CASE WHEN cur_id IS NULL THEN 'created'"
    "   WHEN new_ext = cur_ext AND coalesce(item, cur_item) IS NOT DISTINCT FROM cur_item"
    "   AND coalesce(loc, cur_loc) IS NOT DISTINCT FROM cur_loc THEN 'unchanged' ELSE 'updated' END AS o"
    "   FROM y WHERE conn_id IS NOT NULL AND sku_id IS NOT NULL) s GROUP BY o"
    " ORDER BY 1, 2");

/* Apply, one chunk per step. */
OC_DB_STMT(apply_skus, 5,
           "WITH k AS (INSERT INTO skus (tenant_id, code, title, barcode, archived_at)"
           "   SELECT $1, u.code, coalesce(u.title, ''), u.barcode, CASE WHEN u.archived THEN now() END"
           "   FROM unnest($2::text[], $3::text[], $4::text[], $5::bool[]) AS u(code, title, barcode, archived)"
           "   RETURNING tenant_id, id)"
           " INSERT INTO stock (tenant_id, sku_id) SELECT tenant_id, id FROM k");
/* A component that is not a simple SKU any more leaves component_id NULL: the insert fails, the import with it. */
OC_DB_STMT(apply_bundles, 5,
           "WITH u AS MATERIALIZED (SELECT u.bundle, u.title, u.qty,"
           "   (SELECT c.id FROM skus c WHERE c.tenant_id = $1 AND c.code = u.comp AND c.kind = 'simple') AS comp_id"
           "   FROM unnest($2::text[], $3::text[], $4::text[], $5::int[]) AS u(bundle, title, comp, qty)),"
           " k AS (INSERT INTO skus (tenant_id, code, title, kind)"
           "   SELECT DISTINCT ON (bundle) $1, bundle, coalesce(title, ''), 'bundle' FROM u ORDER BY bundle"
           "   RETURNING tenant_id, id, code),"
           " s AS (INSERT INTO stock (tenant_id, sku_id) SELECT tenant_id, id FROM k)"
           " INSERT INTO bundle_components (tenant_id, bundle_id, component_id, qty)"
           " SELECT $1, k.id, u.comp_id, u.qty FROM u JOIN k ON k.code = u.bundle");
/* Listings: a new (connection, sku) is inserted as POST /listings inserts it; one already mapped is
 * updated as PATCH /listings/{id} updates it (an empty cell keeps the value), and only when it changes. */
OC_DB_STMT(apply_listings, 7,
           LISTING_ROWS
           ","
           " upd AS (UPDATE listings l SET external_sku = coalesce(r.ext, l.external_sku),"
           "   item_ref = coalesce(r.item, l.item_ref), location_ref = coalesce(r.loc, l.location_ref)"
           "   FROM r WHERE l.tenant_id = $1 AND l.connection_id = r.conn_id AND l.sku_id = r.sku_id"
           "   AND (l.external_sku, l.item_ref, l.location_ref) IS DISTINCT FROM"
           "   (coalesce(r.ext, l.external_sku), coalesce(r.item, l.item_ref), coalesce(r.loc, l.location_ref))"
           "   RETURNING l.id)"
           " INSERT INTO listings (tenant_id, connection_id, sku_id, external_sku, item_ref, location_ref)"
           " SELECT $1, r.conn_id, r.sku_id, coalesce(r.ext, r.sku), r.item, r.loc FROM r"
           " WHERE NOT EXISTS (SELECT 1 FROM listings l WHERE l.tenant_id = $1 AND l.connection_id = r.conn_id"
           "   AND l.sku_id = r.sku_id)");
/* The balances the listings are computed from (their SKUs and, for bundles, the components), locked in SKU
 * order before any listing is written, as POST /listings does (api_channels.c: listing_lock_stock). */
OC_DB_STMT(lock_listings, 2,
           "SELECT count(*) FROM (SELECT 1 FROM stock s WHERE s.tenant_id = $1 AND s.sku_id IN ("
           "   SELECT k.id FROM skus k WHERE k.tenant_id = $1 AND k.code = ANY ($2::text[])"
           "   UNION SELECT bc.component_id FROM bundle_components bc JOIN skus k ON k.tenant_id = bc.tenant_id"
           "   AND k.id = bc.bundle_id WHERE bc.tenant_id = $1 AND k.code = ANY ($2::text[]))"
           " ORDER BY s.sku_id FOR SHARE) x");
/* Desired quantities of the file's SKUs' listings recomputed, the workers woken (migrations/0004), as
 * POST /listings does. */
OC_DB_STMT(refresh_listings, 2,
           "SELECT listings_refresh($1, ARRAY(SELECT k.id FROM skus k WHERE k.tenant_id = $1"
           "   AND k.code = ANY ($2::text[])))");
/* Every balance the counts touch, locked in sku order before any is written (as ledger_post does). */
OC_DB_STMT(lock_counts, 2,
           "SELECT count(*) FROM (SELECT 1 FROM stock st WHERE st.tenant_id = $1 AND st.sku_id = ANY (ARRAY("
           "   SELECT (SELECT s.id FROM skus s WHERE s.tenant_id = $1 AND s.code = u.code)"
           "   FROM unnest($2::text[]) AS u(code)))"
           " ORDER BY st.sku_id FOR UPDATE) x");
/* A count movement per row (migrations/0005); answers the new bases for the Redis cache. */
OC_DB_STMT(apply_counts, 7,
           "SELECT sku_id, version, base FROM import_apply_counts($1, $2::text[], $3::bigint[], $4, $5::uuid,"
           " $6::uuid, $7)");

/* --- the job ---------------------------------------------------------------------------------- */

typedef struct oc_import_job {
    oc_work_t work; /* the work-pool item (prepare); first, so the work item is the job */
    oc_thread_t *th;
    char id[37], tenant[37], user[37], token[37], request_id[65], reference[48];
    oc_import_type_t type;
    int dry_run;
    char bytes[24]; /* the file's size, for the insert */
    char *data;     /* the file, until prepared */
    size_t len;
    int rc; /* outcome of the prepare */
    oc_import_t imp;
    size_t next;        /* next chunk to check */
    uint32_t rows_done; /* rows checked, then rows applied */
    /* apply progress: rows applied per the steps done, and what the database has */
    uint32_t applied, applied_written;
    int step_rows[OC_DB_MAX_STEPS];
    oc_timer_t progress;
    int progress_busy; /* a rows_done write is in flight */
    int closing;       /* the job's outcome is recorded (or could not be): nothing else will start */
    /* listings, as checked: rows that create, update or leave a listing unchanged */
    long long created, updated, unchanged;
    /* counts: new (sku, version, base) triples to publish to the Redis cache */
    long long *bases;
    size_t nbases, published;
    int publishing; /* a slice is with Redis */
} job_t;

static void job_free(job_t *j)
{
    if (j == NULL)
        return;
    oc_import_free(&j->imp);
    free(j->data);
    free(j->bases);
    free(j);
}

/* Marks the job's outcome recorded; frees it once nothing of it is in flight any more. */
static void job_close(job_t *j)
{
    j->closing = 1;
    if (j->progress_busy || j->publishing)
        return;
    j->th->inflight--;
    job_free(j);
}

static void set_ids(oc_db_tx_t *tx, int i, const job_t *j)
{
    tx->steps[i].params[0] = j->tenant;
    tx->steps[i].params[1] = j->id;
}

static void finish(job_t *j, const char *status);

/* Ends the job as failed with one reason (no line: the whole import). */
static void fail(job_t *j, const char *reason)
{
    oc_import_errors_free(&j->imp.errors);
    oc_import_error_add(&j->imp.errors, 0, NULL, "%s", reason);
    finish(j, "failed");
}

static const char *db_reason(job_t *j, const oc_db_result_t *res, const char *phase)
{
    oc_log_fields(OC_LOG_WARN, "import failed",
                  json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "tenant", j->tenant, "import", j->id, "phase", phase,
                            "sqlstate", res->sqlstate, "error", res->err ? res->err : "", "request_id", j->request_id));
    if (strcmp(res->sqlstate, "23505") == 0 && j->type == OC_IMPORT_LISTINGS)
        return "two rows of the file, or a row and a listing of the brand, map the same SKU or external_sku on a "
               "connection (a connection given by its id and by its name, or listings changed while the import "
               "ran); nothing was applied (import the file again to see which)";
    if (strcmp(res->sqlstate, "23505") == 0)
        return "a SKU in the file was created in the brand while the import ran; nothing was applied (import the "
               "file again to see which)";
    if (res->code == OC_ETIMEDOUT)
        return "the import took longer than its time limit; nothing was applied";
    if (res->code == OC_EUNAVAIL || res->code == OC_EBUSY)
        return "the database was unavailable; nothing was applied";
    if (res->code == OC_ECONFLICT)
        return "the import conflicted with other changes to the brand; nothing was applied (try it again)";
    return "the database refused the import; nothing was applied";
}

/* --- finish ------------------------------------------------------------------------------------- */

static void on_finished(void *arg, const oc_db_result_t *res)
{
    job_t *j = arg;
    if (res->err != NULL)
        oc_log_fields(OC_LOG_ERROR, "import could not be recorded",
                      json_pack("{s:s, s:s, s:s, s:s}", "tenant", j->tenant, "import", j->id, "sqlstate", res->sqlstate,
                                "request_id", j->request_id));
    job_close(j);
}

/* Records the outcome of a job that applied nothing: a dry run, bad rows, or a failure. */
static void finish(job_t *j, const char *status)
{
    oc_import_errors_sort(&j->imp.errors);
    char total[16], done[16], nerr[16];
    snprintf(total, sizeof(total), "%u", j->imp.rows_total);
    snprintf(done, sizeof(done), "%u", j->rows_done);
    snprintf(nerr, sizeof(nerr), "%zu", j->imp.errors.total);
    json_t *errs = oc_import_errors_json(&j->imp.errors);
    char *errors = json_dumps(errs, JSON_COMPACT);
    char *summary = j->imp.summary != NULL ? json_dumps(j->imp.summary, JSON_COMPACT) : NULL;
    json_decref(errs);
    oc_db_tx_t tx = {.tenant = j->tenant, .nsteps = 1};
    tx.steps[0].stmt = &job_finish;
    set_ids(&tx, 0, j);
    tx.steps[0].params[2] = status;
    tx.steps[0].params[3] = total;
    tx.steps[0].params[4] = done;
    tx.steps[0].params[5] = errors != NULL ? errors : "[]";
    tx.steps[0].params[6] = nerr;
    tx.steps[0].params[7] = summary != NULL ? summary : "{}";
    int rc = oc_db_run(j->th->db, &tx, on_finished, j);
    free(errors);
    free(summary);
    if (rc != 0) {
        oc_log_fields(OC_LOG_ERROR, "import could not be recorded",
                      json_pack("{s:s, s:s, s:s}", "tenant", j->tenant, "import", j->id, "detail", oc_strerror(rc)));
        job_close(j);
    }
}

/* --- apply -------------------------------------------------------------------------------------- */

static void on_progress_written(void *arg, const oc_db_result_t *res)
{
    job_t *j = arg;
    j->progress_busy = 0;
    if (j->closing)
        job_close(j);
}

/* Every PROGRESS_EVERY_MS while applying: writes rows_done when steps have completed since the last write. */
static void on_progress_timer(oc_timer_t *t)
{
    job_t *j = t->data;
    oc_timer_start(j->th->loop, &j->progress, PROGRESS_EVERY_MS);
    if (j->progress_busy || j->applied == j->applied_written)
        return;
    char done[16];
    snprintf(done, sizeof(done), "%u", j->applied);
    oc_db_tx_t tx = {.tenant = j->tenant, .nsteps = 1};
    tx.steps[0].stmt = &job_applied_rows;
    set_ids(&tx, 0, j);
    tx.steps[0].params[2] = done;
    if (oc_db_run(j->th->db, &tx, on_progress_written, j) == 0) {
        j->progress_busy = 1;
        j->applied_written = j->applied;
    }
}

static void on_apply_step(void *arg, int step)
{
    job_t *j = arg;
    j->applied += (uint32_t)j->step_rows[step];
}

/* Publishes a slice of the new bases, the next once Redis has answered it.  Closes the job after the last. */
static void publish(void *arg)
{
    job_t *j = arg;
    if (j->published == j->nbases) {
        j->publishing = 0;
        job_close(j);
        return;
    }
    size_t n = j->nbases - j->published < PUBLISH_SLICE ? j->nbases - j->published : PUBLISH_SLICE;
    j->publishing = 1;
    j->published += n;
    oc_holds_set_bases(j->th->redis, j->tenant, &j->bases[3 * (j->published - n)], n, publish, j);
}

static void on_listings_published(void *arg)
{
    job_t *j = arg;
    j->publishing = 0;
    job_close(j);
}

static void on_applied(void *arg, const oc_db_result_t *res)
{
    job_t *j = arg;
    oc_timer_stop(j->th->loop, &j->progress);
    if (res->err != NULL) {
        fail(j, db_reason(j, res, "apply"));
        return;
    }
    if (j->type == OC_IMPORT_LISTINGS) { /* the workers were woken by listings_refresh */
        j->publishing = 1;
        oc_holds_publish_touched(j->th->redis, j->tenant, res, on_listings_published, j);
        return;
    }
    if (j->type != OC_IMPORT_COUNTS) {
        oc_catalog_invalidate();
        job_close(j);
        return;
    }
    /* Counts changed balances: tell the Redis hold gate, a slice at a time, each once Redis has answered the
     * one before.  The job reads 'done' from the apply transaction; a hold asked in the milliseconds before
     * the last slice is checked against the old quantity (confirmation, in PostgreSQL, still decides). */
    size_t n = 0;
    for (int i = 0; i < res->nresults; i++)
        if (res->results[i] != NULL && PQnfields(res->results[i]) == 3)
            n += (size_t)PQntuples(res->results[i]);
    if (n > 0 && oc_redis_ready(j->th->redis)) {
        j->bases = oc_malloc(n * 3 * sizeof(long long));
        for (int i = 0; i < res->nresults; i++) {
            const PGresult *pr = res->results[i];
            if (pr == NULL || PQnfields(pr) != 3)
                continue;
            for (int row = 0; row < PQntuples(pr); row++, j->nbases++)
                for (int col = 0; col < 3; col++)
                    j->bases[3 * j->nbases + (size_t)col] = oc_db_get_ll(pr, row, col, 0);
        }
    }
    if (j->nbases > 0)
        publish(j);
    else
        job_close(j);
}

static void apply(job_t *j)
{
    const oc_import_t *imp = &j->imp;
    char total[16];
    snprintf(total, sizeof(total), "%u", imp->rows_total);
    char *summary = json_dumps(imp->summary, JSON_COMPACT);
    oc_db_tx_t tx = {.tenant = j->tenant, .timeout_ms = oc_config.import_timeout_ms, .on_step = on_apply_step};
    int i;
    if (j->type == OC_IMPORT_COUNTS || j->type == OC_IMPORT_LISTINGS) {
        i = tx.nsteps++;
        tx.steps[i].stmt = j->type == OC_IMPORT_COUNTS ? &lock_counts : &lock_listings;
        tx.steps[i].params[0] = j->tenant;
        tx.steps[i].params[1] = imp->all_codes;
    }
    for (size_t c = 0; c < imp->nchunks; c++) {
        char *const *p = imp->chunks[c].params;
        i = tx.nsteps++;
        j->step_rows[i] = (int)imp->chunks[c].nrows;
        tx.steps[i].params[0] = j->tenant;
        /* The chunk's parameters after its lines (see tenants/imports.h). */
        if (j->type == OC_IMPORT_SKUS) {
            tx.steps[i].stmt = &apply_skus;
            memcpy(&tx.steps[i].params[1], &p[1], 4 * sizeof(char *));
        } else if (j->type == OC_IMPORT_BUNDLES) {
            tx.steps[i].stmt = &apply_bundles;
            memcpy(&tx.steps[i].params[1], &p[1], 4 * sizeof(char *));
        } else if (j->type == OC_IMPORT_LISTINGS) {
            tx.steps[i].stmt = &apply_listings; /* lines too: the statement shares the check's row source */
            memcpy(&tx.steps[i].params[1], &p[0], 6 * sizeof(char *));
        } else {
            tx.steps[i].stmt = &apply_counts;
            const char *q[] = {
                p[1], p[2], j->reference, j->user[0] ? j->user : NULL, j->token[0] ? j->token : NULL, j->request_id};
            memcpy(&tx.steps[i].params[1], q, sizeof(q));
        }
    }
    if (j->type == OC_IMPORT_LISTINGS) {
        i = tx.nsteps++;
        tx.steps[i].stmt = &refresh_listings;
        tx.steps[i].params[0] = j->tenant;
        tx.steps[i].params[1] = imp->all_codes;
        oc_holds_touched_step(&tx, j->tenant); /* new listings take in their parked order lines */
    }
    i = tx.nsteps++;
    tx.steps[i].stmt = &job_analyze;
    tx.steps[i].params[0] = oc_import_type_name(j->type);
    i = tx.nsteps++;
    tx.steps[i].stmt = &job_applied;
    const char *p[] = {j->tenant,
                       j->id,
                       total,
                       summary != NULL ? summary : "{}",
                       j->user[0] ? j->user : NULL,
                       j->token[0] ? j->token : NULL,
                       j->request_id};
    memcpy(tx.steps[i].params, p, sizeof(p));
    int rc = oc_db_run(j->th->db, &tx, on_applied, j);
    free(summary);
    if (rc != 0) {
        fail(j, "the database was unavailable; nothing was applied");
        return;
    }
    /* The chunks' literals were copied with the transaction: free them now, not after it. */
    for (size_t c = 0; c < j->imp.nchunks; c++)
        for (int k = 0; k < OC_IMPORT_CHUNK_PARAMS; k++) {
            free(j->imp.chunks[c].params[k]);
            j->imp.chunks[c].params[k] = NULL;
        }
    oc_timer_init(&j->progress, on_progress_timer, j);
    oc_timer_start(j->th->loop, &j->progress, PROGRESS_EVERY_MS);
}

static void on_applying(void *arg, const oc_db_result_t *res)
{
    job_t *j = arg;
    if (res->err != NULL) {
        fail(j, db_reason(j, res, "apply"));
        return;
    }
    if (PQntuples(res->results[0]) != 1) {
        fail(j, "the import was interrupted; nothing was applied");
        return;
    }
    apply(j);
}

/* --- check -------------------------------------------------------------------------------------- */

static void check_next(job_t *j);

static void on_checked(void *arg, const oc_db_result_t *res)
{
    job_t *j = arg;
    if (res->err != NULL) {
        fail(j, db_reason(j, res, "check"));
        return;
    }
    const PGresult *bad = res->results[0];
    for (int row = 0; row < PQntuples(bad); row++) {
        if (j->type == OC_IMPORT_LISTINGS && PQgetisnull(bad, row, 0)) { /* what the good rows would do */
            const char *o = oc_db_get(bad, row, 1);
            long long n = oc_db_get_ll(bad, row, 3, 0);
            if (o != NULL && strcmp(o, "created") == 0)
                j->created += n;
            else if (o != NULL && strcmp(o, "updated") == 0)
                j->updated += n;
            else
                j->unchanged += n;
            continue;
        }
        oc_import_error_add(&j->imp.errors, (uint32_t)oc_db_get_ll(bad, row, 0, 0), oc_db_get(bad, row, 1), "%s",
                            oc_db_get(bad, row, 2) ? oc_db_get(bad, row, 2) : "");
    }
    j->rows_done += j->imp.chunks[j->next].nrows;
    j->next++;
    check_next(j);
}

/* Checks the next chunk against the brand, or decides what comes after the checks. */
static void check_next(job_t *j)
{
    const oc_import_t *imp = &j->imp;
    if (j->next >= imp->nchunks) {
        j->rows_done = imp->rows_total;
        if (j->type == OC_IMPORT_LISTINGS && imp->summary != NULL) {
            json_object_set_new(imp->summary, "created", json_integer(j->created));
            json_object_set_new(imp->summary, "updated", json_integer(j->updated));
            json_object_set_new(imp->summary, "unchanged", json_integer(j->unchanged));
        }
        if (imp->errors.total > 0) {
            finish(j, "failed");
        } else if (j->dry_run || imp->nchunks == 0) {
            finish(j, "done");
        } else {
            oc_db_tx_t tx = {.tenant = j->tenant, .nsteps = 1};
            tx.steps[0].stmt = &job_applying;
            set_ids(&tx, 0, j);
            if (oc_db_run(j->th->db, &tx, on_applying, j) != 0)
                fail(j, "the database was unavailable; nothing was applied");
        }
        return;
    }
    char *const *p = imp->chunks[j->next].params;
    char done[16], total[16];
    snprintf(done, sizeof(done), "%u", j->rows_done + imp->chunks[j->next].nrows);
    snprintf(total, sizeof(total), "%u", imp->rows_total);
    oc_db_tx_t tx = {.tenant = j->tenant, .nsteps = 2};
    tx.steps[0].params[0] = j->tenant;
    tx.steps[0].params[1] = p[0]; /* lines */
    tx.steps[0].params[2] = p[1]; /* codes; bundles: bundle codes */
    switch (j->type) {
    case OC_IMPORT_SKUS: tx.steps[0].stmt = &check_skus; break;
    case OC_IMPORT_BUNDLES:
        tx.steps[0].stmt = &check_bundles;
        tx.steps[0].params[3] = p[3]; /* component codes */
        break;
    case OC_IMPORT_COUNTS: tx.steps[0].stmt = &check_counts; break;
    case OC_IMPORT_LISTINGS:
        tx.steps[0].stmt = &check_listings;
        memcpy(&tx.steps[0].params[1], &p[0], 6 * sizeof(char *));
        break;
    }
    tx.steps[1].stmt = &job_checked;
    set_ids(&tx, 1, j);
    tx.steps[1].params[2] = done;
    tx.steps[1].params[3] = total;
    if (oc_db_run(j->th->db, &tx, on_checked, j) != 0)
        fail(j, "the database was unavailable while the rows were checked; nothing was applied");
}

/* --- prepare (work pool) ------------------------------------------------------------------------- */

static void prepare_run(oc_work_t *w)
{
    job_t *j = (job_t *)w;
    j->rc = oc_import_prepare(&j->imp, j->type, j->data, j->len, MAX_CHUNKS);
    free(j->data);
    j->data = NULL;
}

static void prepare_done(oc_work_t *w)
{
    job_t *j = (job_t *)w;
    if (j->rc != 0) {
        fail(j, "the file is too large to read"); /* OC_EINVAL, or OC_ENOMEM: a chunk too large to build */
        return;
    }
    check_next(j);
}

/* --- create and start ------------------------------------------------------------------------- */

oc_import_job_t *oc_import_job_new(oc_thread_t *th, const char *tenant, oc_import_type_t type, int dry_run,
                                   const oc_actor_t *a)
{
    job_t *j = oc_calloc(1, sizeof(*j));
    j->th = th;
    j->type = type;
    j->dry_run = dry_run != 0;
    oc_uuid_v4(j->id);
    snprintf(j->tenant, sizeof(j->tenant), "%s", tenant);
    snprintf(j->user, sizeof(j->user), "%s", a->user != NULL ? a->user : "");
    snprintf(j->token, sizeof(j->token), "%s", a->token != NULL ? a->token : "");
    snprintf(j->request_id, sizeof(j->request_id), "%s", a->request_id != NULL ? a->request_id : "");
    snprintf(j->reference, sizeof(j->reference), "import:%s", j->id);
    return j;
}

const char *oc_import_job_id(const oc_import_job_t *job)
{
    return job->id;
}

int oc_import_job_insert_step(oc_import_job_t *j, oc_db_tx_t *tx, size_t bytes)
{
    if (tx->nsteps >= OC_DB_MAX_STEPS)
        return OC_EINVAL;
    snprintf(j->bytes, sizeof(j->bytes), "%zu", bytes); /* the job's own: the step borrows it until tx runs */
    int i = tx->nsteps++;
    tx->steps[i].stmt = &job_insert;
    const char *p[] = {j->tenant,
                       j->id,
                       oc_import_type_name(j->type),
                       j->dry_run ? "true" : "false",
                       j->bytes,
                       j->user[0] ? j->user : NULL,
                       j->token[0] ? j->token : NULL,
                       j->request_id};
    memcpy(tx->steps[i].params, p, sizeof(p));
    return 0;
}

void oc_import_job_start(oc_import_job_t *j, char *data, size_t len)
{
    j->data = data;
    j->len = len;
    j->th->inflight++;
    j->work.run = prepare_run;
    j->work.done = prepare_done;
    oc_work_submit(j->th->workpool, &j->th->work, &j->work);
}

void oc_import_job_free(oc_import_job_t *job)
{
    job_free(job);
}

/* --- read ------------------------------------------------------------------------------------- */

/* A read in flight: whom to answer. */
typedef struct {
    oc_import_job_cb cb;
    void *arg;
} read_t;

static void on_job(void *arg, const oc_db_result_t *res)
{
    read_t rd = *(read_t *)arg;
    free(arg);
    oc_fail_t f = {0};
    const PGresult *row = oc_fail_one_row(&f, res, "import");
    json_t *v = row != NULL ? oc_db_json(row, 0, 0) : NULL;
    if (row != NULL && v == NULL)
        oc_fail(&f, OC_FAIL_NOT_FOUND, "not_found", NULL, "no such import");
    rd.cb(rd.arg, v, v != NULL ? NULL : &f);
    oc_fail_clear(&f);
}

static void on_jobs(void *arg, const oc_db_result_t *res)
{
    read_t rd = *(read_t *)arg;
    free(arg);
    if (res->err != NULL) {
        oc_fail_t f = {0};
        oc_fail_db(&f, res);
        rd.cb(rd.arg, NULL, &f);
        oc_fail_clear(&f);
        return;
    }
    json_t *items = oc_db_json_rows(res->results[0], 0), *item;
    size_t i;
    json_array_foreach(items, i, item) /* lists leave the errors to the job itself */
        json_object_del(item, "errors");
    rd.cb(rd.arg, items, NULL);
}

/* Runs `tx` and answers the read through `done`. */
static int read_run(oc_thread_t *th, const oc_db_tx_t *tx, oc_db_cb done, oc_import_job_cb cb, void *arg)
{
    read_t *rd = oc_malloc(sizeof(*rd));
    *rd = (read_t){cb, arg};
    int rc = oc_db_run(th->db, tx, done, rd);
    if (rc != 0)
        free(rd);
    return rc;
}

int oc_import_job_get(oc_thread_t *th, const char *tenant, const char *id, oc_import_job_cb cb, void *arg)
{
    oc_db_tx_t tx = {.tenant = tenant, .nsteps = 1};
    tx.steps[0].stmt = &job_get;
    tx.steps[0].params[0] = tenant;
    tx.steps[0].params[1] = id;
    return read_run(th, &tx, on_job, cb, arg);
}

int oc_import_jobs_list(oc_thread_t *th, const char *tenant, const oc_import_type_t *type, const char *after_created,
                        const char *after_id, const char *limit, oc_import_job_cb cb, void *arg)
{
    oc_db_tx_t tx = {.tenant = tenant, .nsteps = 1};
    tx.steps[0].stmt = &jobs_list;
    const char *p[] = {tenant, type != NULL ? oc_import_type_name(*type) : NULL, after_created, after_id, limit};
    memcpy(tx.steps[0].params, p, sizeof(p));
    return read_run(th, &tx, on_jobs, cb, arg);
}
