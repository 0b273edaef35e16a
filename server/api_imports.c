/*
 * api_imports.c — CSV imports of SKUs, bundles, opening counts and
 * listings: POST a file, then follow its job.
 *
 * POST /brands/{bid}/imports?type=&dry_run= answers 202 with the job once
 * the file is accepted; the rest runs in the background on the loop thread
 * that took the request, as a job that outlives the request
 * (tenants/import_jobs.h: prepare, check, apply, finish):
 *
 *   accept   work pool   copy the body (and hash it for Idempotency-Key)
 *   create   database    the Idempotency-Key step, then the job's insert and
 *                        its audit record; answer 202 and start the job
 *
 * A dry run stops after the checks.  Any bad row means nothing is applied.
 * GET /brands/{bid}/imports/{jid} follows one job; GET /brands/{bid}/imports
 * lists them (without their errors).
 */
#include "server/api.h"
#include "runtime/alloc.h"
#include "server/page.h"
#include "tenants/import_jobs.h"

#include <stdio.h>
#include <stdlib.h>

/* --- accept and create -------------------------------------------------------------------------- */

/* A POST until its 202: the request's state (freed with it on any error, the job too). */
typedef struct {
    oc_work_t work; /* the work-pool item (accept); first, so the work item is the accept */
    oc_req_t *req;
    oc_import_job_t *job;
    char *data; /* the file */
    size_t len;
    char hash[65]; /* Idempotency-Key binding, when a key was given */
} accept_t;

static void accept_free(void *p)
{
    accept_t *a = p;
    if (a == NULL)
        return;
    oc_import_job_free(a->job);
    free(a->data);
    free(a);
}

static void on_created(void *arg, const oc_db_result_t *res)
{
    accept_t *a = arg;
    oc_req_t *r = a->req;
    if (res->err != NULL) {
        oc_respond_db_error(r, res); /* also answers idempotent replays; the job goes with the request */
        return;
    }
    json_t *body = oc_db_json(res->results[res->nresults - 1], 0, 0);
    if (body == NULL) {
        oc_respond_error(r, 500, "internal", "internal error", NULL);
        return;
    }
    /* From here the job lives on its own: detach it from the request and start it. */
    oc_import_job_t *job = a->job;
    r->state = NULL;
    r->state_free = NULL;
    char location[160];
    snprintf(location, sizeof(location), "/api/v1/brands/%s/imports/%s", r->tenant, oc_import_job_id(job));
    oc_import_job_start(job, a->data, a->len);
    free(a);
    oc_resp_header(r, "location", location);
    oc_respond_json(r, 202, body);
}

static void accept_run(oc_work_t *w)
{
    accept_t *a = (accept_t *)w;
    oc_req_t *r = a->req;
    a->data = oc_malloc(r->raw.len);
    memcpy(a->data, r->raw.base, r->raw.len);
    a->len = r->raw.len;
    if (r->idem_key != NULL)
        oc_api_request_hash(r, a->hash);
}

static void accept_done(oc_work_t *w)
{
    accept_t *a = (accept_t *)w;
    oc_req_t *r = a->req;
    oc_db_tx_t tx = {.tenant = r->tenant};
    if (oc_api_idem_step_hashed(r, &tx, a->hash) != 0)
        return;
    oc_import_job_insert_step(a->job, &tx, a->len);
    if (oc_db_run(r->thread->db, &tx, on_created, a) != 0)
        oc_respond_unavailable(r, "the database");
}

void oc_api_import_create(oc_req_t *r)
{
    oc_import_type_t type;
    const char *type_s = oc_req_query(r, "type"), *dry = oc_req_query(r, "dry_run");
    if (oc_import_type_parse(type_s, &type) != 0) {
        oc_respond_error(r, 422, "invalid", "type must be skus, bundles, counts or listings", "type");
        return;
    }
    if (dry != NULL && strcmp(dry, "true") != 0 && strcmp(dry, "false") != 0) {
        oc_respond_error(r, 422, "invalid", "dry_run must be true or false", "dry_run");
        return;
    }
    if (r->raw.len == 0) {
        oc_respond_error(r, 422, "invalid", "the body is empty: send the CSV file, its first line naming the columns",
                         NULL);
        return;
    }
    if (r->idem_key != NULL && (strlen(r->idem_key) == 0 || strlen(r->idem_key) > 255)) {
        oc_respond_error(r, 400, "bad_idempotency_key", "Idempotency-Key must be 1 to 255 characters", NULL);
        return;
    }
    accept_t *a = oc_calloc(1, sizeof(*a));
    /* Until the 202 the job belongs to the request (freed with it on any error). */
    r->state = a;
    r->state_free = accept_free;
    a->req = r;
    a->job = oc_import_job_new(r->thread, r->tenant, type, dry != NULL && strcmp(dry, "true") == 0, oc_req_actor(r));
    a->work.run = accept_run;
    a->work.done = accept_done;
    oc_work_submit(r->thread->workpool, &r->thread->work, &a->work);
}

/* --- read --------------------------------------------------------------------------------------- */

static void on_job(void *arg, json_t *v, const oc_fail_t *f)
{
    oc_req_t *r = arg;
    if (v == NULL) {
        oc_respond_fail(r, f);
        return;
    }
    oc_respond_json(r, 200, v);
}

void oc_api_import_get(oc_req_t *r)
{
    const char *id = oc_req_id_param(r, "jid", "no such import");
    if (id == NULL)
        return;
    if (oc_import_job_get(r->thread, r->tenant, id, on_job, r) != 0)
        oc_respond_unavailable(r, "the database");
}

static json_t *job_key(json_t *item)
{
    return json_pack("[s, s]", json_string_value(json_object_get(item, "created_at")),
                     json_string_value(json_object_get(item, "id")));
}

static void on_jobs(void *arg, json_t *items, const oc_fail_t *f)
{
    oc_req_t *r = arg;
    if (items == NULL) {
        oc_respond_fail(r, f);
        return;
    }
    oc_respond_json(r, 200, oc_page_result(r->state, items, job_key));
}

void oc_api_imports_list(oc_req_t *r)
{
    oc_page_t *pg = oc_req_alloc(r, sizeof(*pg));
    memset(pg, 0, sizeof(*pg));
    r->state = pg;
    if (oc_page_parse(r, pg, 2) != 0)
        return;
    oc_import_type_t type;
    const char *type_s = oc_req_query(r, "type");
    if (type_s != NULL && oc_import_type_parse(type_s, &type) != 0) {
        oc_respond_error(r, 422, "invalid", "type must be skus, bundles, counts or listings", "type");
        return;
    }
    const char *after_id = oc_page_after(pg, 1);
    if (after_id != NULL && !oc_is_uuid(after_id, strlen(after_id))) {
        oc_respond_error(r, 422, "invalid", "cursor is not one this endpoint gave", "cursor");
        return;
    }
    if (oc_import_jobs_list(r->thread, r->tenant, type_s != NULL ? &type : NULL, oc_page_after(pg, 0), after_id,
                            pg->limit_plus_one, on_jobs, r) != 0)
        oc_respond_unavailable(r, "the database");
}
