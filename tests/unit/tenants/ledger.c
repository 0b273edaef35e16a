/* Unit tests for tenants/ledger.c: movement kinds, and reading a ledger answer as an outcome. */
#include "tenants/ledger.h"
#include "test.h"

#include <stdio.h>

typedef struct {
    int calls, replayed;
    json_t *body;
    oc_fail_kind_t kind;
    char code[64], field[64], message[256];
} seen_t;

static void record(void *arg, const oc_ledger_outcome_t *out)
{
    seen_t *s = arg;
    s->calls++;
    s->replayed = out->replayed;
    s->body = json_incref(out->body);
    s->kind = out->fail != NULL ? out->fail->kind : OC_FAIL_NONE;
    if (out->fail != NULL) {
        snprintf(s->code, sizeof(s->code), "%s", out->fail->code ? out->fail->code : "");
        snprintf(s->field, sizeof(s->field), "%s", out->fail->field ? out->fail->field : "");
        snprintf(s->message, sizeof(s->message), "%s", out->fail->message);
    }
}

static seen_t answer(const char *text)
{
    seen_t s = {0};
    json_t *a = json_loads(text, 0, NULL);
    CHECK(a != NULL);
    oc_ledger_answer(a, record, &s);
    json_decref(a);
    CHECK_INT(s.calls, 1);
    return s;
}

int main(void)
{
    /* Kinds round-trip by name; an unknown name is -1. */
    const char *names[] = {"receipt", "sale", "ship", "cancel", "return", "adjust", "count"};
    for (int i = 0; i < 7; i++) {
        CHECK_INT(oc_move_kind_parse(names[i]), i);
        CHECK_STR(oc_move_kind_name((oc_move_kind_t)i), names[i]);
    }
    CHECK_INT(oc_move_kind_parse("transfer"), -1);
    CHECK_INT(oc_move_kind_parse(NULL), -1);

    /* A posted movement: the body, not a failure. */
    seen_t s = answer("{\"status\": 201, \"body\": {\"kind\": \"sale\", \"movements\": [7]}}");
    CHECK_INT(s.kind, OC_FAIL_NONE);
    CHECK_INT(s.replayed, 0);
    CHECK_STR(json_string_value(json_object_get(s.body, "kind")), "sale");
    json_decref(s.body);

    /* A replay says so. */
    s = answer("{\"status\": 201, \"body\": {}, \"replayed\": true}");
    CHECK_INT(s.kind, OC_FAIL_NONE);
    CHECK_INT(s.replayed, 1);
    json_decref(s.body);

    /* ledger_err()'s refusals become domain failures with their code, field and message. */
    s = answer("{\"status\": 409, \"body\": {\"error\": {\"code\": \"insufficient_stock\", \"field\": \"lines\","
               " \"message\": \"A has 0 available, 1 requested\"}}}");
    CHECK_INT(s.kind, OC_FAIL_CONFLICT);
    CHECK_STR(s.code, "insufficient_stock");
    CHECK_STR(s.field, "lines");
    CHECK_STR(s.message, "A has 0 available, 1 requested");
    CHECK(s.body == NULL);

    s = answer("{\"status\": 422, \"body\": {\"error\": {\"code\": \"unknown_sku\", \"field\": \"lines[0].sku\","
               " \"message\": \"no SKU X in this brand\"}}}");
    CHECK_INT(s.kind, OC_FAIL_INVALID);
    CHECK_STR(s.field, "lines[0].sku");

    s = answer("{\"status\": 404, \"body\": {\"error\": {\"code\": \"not_found\", \"field\": null,"
               " \"message\": \"no such hold\"}}}");
    CHECK_INT(s.kind, OC_FAIL_NOT_FOUND);
    CHECK_STR(s.field, "");

    /* No status at all is a bug, never a success. */
    s = answer("{\"body\": {}}");
    CHECK_INT(s.kind, OC_FAIL_INTERNAL);
    return oc_test_report();
}
