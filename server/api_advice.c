/*
 * api_advice.c — the HTTP face of the buffer advisor (tenants/advice.h):
 * read the advice of a connection, apply it within bounds.
 */
#include "server/api.h"
#include "tenants/advice.h"
#include "runtime/common.h"

#include <string.h>

void oc_api_buffer_advice(oc_req_t *r)
{
    const char *cid = oc_req_id_param(r, "cid", "no such connection");
    if (cid != NULL)
        oc_advice_get(r->thread, r->tenant, cid, oc_api_answer, r);
}

/* Every item of listing_ids is a listing id. */
static int ids_ok(const json_t *v)
{
    size_t i;
    const json_t *id;
    json_array_foreach(v, i, id)
    {
        if (!json_is_string(id) || !oc_is_uuid(json_string_value(id), json_string_length(id)))
            return -1;
    }
    return 0;
}

void oc_api_buffer_advice_apply(oc_req_t *r)
{
    static const oc_field_t fields[] = {
        {"listing_ids", OC_F_ARRAY, 0, 0, 10000, .message = "listing_ids is a list of at most 10000 listing ids",
         .check = ids_ok},
        {"min", OC_F_INT, 0, 0, 1000000000, .message = "min is a whole number of units from 0"},
        {"max", OC_F_INT, 0, 0, 1000000000, .message = "max is a whole number of units from 0"},
        {"reason", OC_F_STRING, 0, 1, 500},
        {NULL},
    };
    if (oc_req_id_param(r, "cid", "no such connection") == NULL || oc_req_validate(r, fields) != 0)
        return;
    const json_t *mn = json_object_get(r->body, "min"), *mx = json_object_get(r->body, "max");
    if (mn != NULL && mx != NULL && json_integer_value(mn) > json_integer_value(mx)) {
        oc_respond_error(r, 422, "invalid", "min must not be more than max", "min");
        return;
    }
    oc_advice_apply(r->thread, oc_req_actor(r), oc_req_param(r, "cid"), r->body, oc_api_answer, r);
}
