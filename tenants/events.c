/*
 * events.c — channel events in (see events.h).
 */
#include "tenants/events.h"
#include "runtime/alloc.h"

#include <stdlib.h>

OC_DB_STMT(event_store, 5,
           "INSERT INTO channel_events (tenant_id, connection_id, event_id, topic, body)"
           " VALUES ($1, $2::uuid, $3, $4, $5::jsonb) ON CONFLICT (tenant_id, connection_id, event_id) DO NOTHING"
           " RETURNING id");

OC_DB_STMT(events_process, 2, "SELECT events_process($1, $2::int)");

typedef struct {
    oc_events_store_cb cb;
    void *arg;
} store_t;

static void on_stored(void *arg, const oc_db_result_t *res)
{
    store_t st = *(store_t *)arg;
    free(arg);
    if (res->err != NULL) {
        oc_fail_t f = {0};
        oc_fail_db(&f, res);
        st.cb(st.arg, 0, &f);
        oc_fail_clear(&f);
        return;
    }
    st.cb(st.arg, PQntuples(res->results[0]) != 1, NULL);
}

int oc_events_store(oc_db_pool_t *db, const char *tenant, const char *conn_id, const char *event_id, const char *topic,
                    const char *body, size_t len, oc_events_store_cb cb, void *arg)
{
    char *text = oc_strndup(body, len);
    store_t *st = oc_malloc(sizeof(*st));
    *st = (store_t){cb, arg};
    const char *p[] = {tenant, conn_id, event_id, topic, text};
    int rc = oc_db_exec(db, tenant, &event_store, p, on_stored, st);
    free(text);
    if (rc != 0)
        free(st);
    return rc;
}

static void read_processed(const oc_db_result_t *res, const oc_fail_t *f, void (*done)(void), void *arg)
{
    json_t *r = f == NULL ? oc_db_json(res->results[0], 0, 0) : NULL;
    ((oc_events_process_cb)done)(arg, json_integer_value(json_object_get(r, "processed")),
                                 json_integer_value(json_object_get(r, "polls")), f);
    json_decref(r);
}

int oc_events_process(oc_db_pool_t *db, const char *tenant, int limit, oc_events_process_cb cb, void *arg)
{
    char l[24];
    const char *p[] = {tenant, oc_query_int(l, limit)};
    return oc_query_typed_exec(db, tenant, &events_process, p, read_processed, (void (*)(void))cb, arg);
}
