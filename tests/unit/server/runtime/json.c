/* Unit tests for server/runtime/json.c (body validation) and the one error shape. */
#include "server/http.h"
#include "runtime/json.h"
#include "test.h"

static const char *const kinds[] = {"receipt", "sale", NULL};
static const oc_field_t line_fields[] = {
    {"sku", OC_F_STRING, OC_REQUIRED, 1, 64}, {"qty", OC_F_INT, OC_REQUIRED, 1, 1000}, {NULL}};
static int is_auto(const json_t *v)
{
    return (json_is_integer(v) && json_integer_value(v) >= 0) ||
                   (json_is_string(v) && strcmp(json_string_value(v), "auto") == 0)
               ? 0
               : -1;
}
static const oc_field_t rule_fields[] = {
    {"buffer", OC_F_ANY, 0, .message = "buffer is a number of units or \"auto\"", .check = is_auto},
    {"share", OC_F_NUMBER, 0, 0, 100},
    {"cap", OC_F_INT, OC_NULLABLE, 0, 1000},
    {NULL},
};
static const oc_field_t fields[] = {
    {"sku", OC_F_STRING, 1, 1, 64},
    {"qty", OC_F_INT, 1, 1, 1000000},
    {"kind", OC_F_ENUM, 0, 0, 0, kinds},
    {"note", OC_F_STRING, OC_NULLABLE, 0, 10},
    {"brand", OC_F_UUID, 0},
    {"flag", OC_F_BOOL, 0},
    {"list", OC_F_ARRAY, 0, 1, 3},
    {"lines", OC_F_ARRAY, 0, 1, 3, .fields = line_fields},
    {"rules", OC_F_OBJECT, OC_NULLABLE, .fields = rule_fields},
    {"settings", OC_F_OBJECT, 0},
    {NULL},
};

static int check_with(const oc_field_t *table, const char *body, const char *want_field, const char *want_msg)
{
    json_error_t je;
    json_t *obj =
        json_loads(body, JSON_ALLOW_NUL, &je); /* the server rejects NUL earlier; this checks the second line */
    if (obj == NULL) {
        fprintf(stderr, "  %s: %s\n", body, je.text);
        return 0;
    }
    oc_json_error_t err = {{0}};
    int rc = oc_json_validate(obj, table, &err);
    int ok;
    if (want_field == NULL) {
        ok = rc == 0;
        if (!ok)
            fprintf(stderr, "  %s -> field=%s message=%s\n", body, err.field, err.message);
    } else {
        ok = rc == -1 && strcmp(err.field, want_field) == 0 && (want_msg == NULL || strstr(err.message, want_msg));
        if (!ok)
            fprintf(stderr, "  %s -> rc=%d field=%s message=%s\n", body, rc, err.field, err.message);
    }
    json_decref(obj);
    return ok;
}

static int check(const char *body, const char *want_field, const char *want_msg)
{
    return check_with(fields, body, want_field, want_msg);
}

int main(void)
{
    CHECK(check("{\"sku\":\"A\",\"qty\":1}", NULL, NULL));
    CHECK(check("{\"sku\":\"A\",\"qty\":1,\"kind\":\"sale\",\"note\":null,\"flag\":true,\"list\":[1]}", NULL, NULL));
    CHECK(check("{\"qty\":1}", "sku", "sku is required"));
    CHECK(check("{\"sku\":\"A\"}", "qty", "qty is required"));
    CHECK(check("{\"sku\":5,\"qty\":1}", "sku", "must be a string"));
    CHECK(check("{\"sku\":\"\",\"qty\":1}", "sku", "at least 1"));
    CHECK(check("{\"sku\":\"A\",\"qty\":\"1\"}", "qty", "must be an integer"));
    CHECK(check("{\"sku\":\"A\",\"qty\":1.5}", "qty", "must be an integer"));
    CHECK(check("{\"sku\":\"A\",\"qty\":1.0}", "qty", "must be an integer"));
    CHECK(check("{\"sku\":\"A\",\"qty\":-0.5}", "qty", "must be an integer"));
    CHECK(check("{\"sku\":\"A\",\"qty\":1e300}", "qty", "must be an integer"));
    CHECK(check("{\"sku\":\"A\",\"qty\":0}", "qty", "between 1 and 1000000"));
    CHECK(check("{\"sku\":\"A\",\"qty\":-3}", "qty", "between"));
    CHECK(check("{\"sku\":\"A\",\"qty\":99999999999999999}", "qty", "between"));
    CHECK(check("{\"sku\":\"A\",\"qty\":9223372036854775807}", "qty", "between"));
    CHECK(check("{\"sku\":\"A\",\"qty\":-9223372036854775807}", "qty", "between"));
    CHECK(check("{\"sku\":\"A\",\"qty\":1,\"kind\":\"steal\"}", "kind", "one of: receipt sale"));
    CHECK(check("{\"sku\":\"A\",\"qty\":1,\"extra\":1}", "extra", "unknown field \"extra\" (known: sku, qty"));
    CHECK(check("{\"sku\":\"A\",\"qty\":1,\"brand\":\"not-a-uuid\"}", "brand", "UUID"));
    CHECK(check("{\"sku\":\"A\",\"qty\":1,\"brand\":\"0B9C2C8E-4A7E-4F4F-9A63-1F2A3B4C5D6E\"}", "brand", "UUID"));
    CHECK(check("{\"sku\":\"A\",\"qty\":1,\"brand\":\"0b9c2c8e-4a7e-4f4f-9a63-1f2a3b4c5d6e\"}", NULL, NULL));
    CHECK(check("{\"sku\":\"A\",\"qty\":1,\"flag\":1}", "flag", "true or false"));
    CHECK(check("{\"sku\":\"A\",\"qty\":1,\"list\":[]}", "list", "between 1 and 3"));
    CHECK(check("{\"sku\":\"A\",\"qty\":1,\"note\":\"01234567890\"}", "note", "at most 10"));
    CHECK(check("{\"sku\":\"A\\u0000B\",\"qty\":1}", "sku", "NUL"));
    /* lengths count characters, not bytes: ten two-byte characters fit a ten-character field */
    CHECK(check("{\"sku\":\"A\",\"qty\":1,\"note\":\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                "\xc3\xa9\xc3\xa9\"}",
                NULL, NULL));

    /* Null is a value only where the table says so; it never counts as absent. */
    CHECK(check("{\"sku\":\"A\",\"qty\":null}", "qty", "qty must not be null"));
    CHECK(check("{\"sku\":null,\"qty\":1}", "sku", "must not be null"));
    CHECK(check("{\"sku\":\"A\",\"qty\":1,\"kind\":null}", "kind", "kind must not be null"));
    CHECK(check("{\"sku\":\"A\",\"qty\":1,\"flag\":null}", "flag", "must not be null"));
    CHECK(check("{\"sku\":\"A\",\"qty\":1,\"brand\":null}", "brand", "must not be null"));
    CHECK(check("{\"sku\":\"A\",\"qty\":1,\"lines\":null}", "lines", "must not be null"));
    CHECK(check("{\"sku\":\"A\",\"qty\":1,\"settings\":null}", "settings", "must not be null"));
    CHECK(check("{\"sku\":\"A\",\"qty\":1,\"rules\":null}", NULL, NULL));

    /* Nested objects and arrays of objects: every member checked, named by its path. */
    CHECK(check("{\"sku\":\"A\",\"qty\":1,\"lines\":[{\"sku\":\"B\",\"qty\":2}]}", NULL, NULL));
    CHECK(check("{\"sku\":\"A\",\"qty\":1,\"lines\":[{\"sku\":\"B\",\"qty\":2},{\"sku\":\"C\",\"qty\":0}]}",
                "lines[1].qty", "qty must be between 1 and 1000"));
    CHECK(check("{\"sku\":\"A\",\"qty\":1,\"lines\":[{\"sku\":\"B\",\"qty\":2},{\"sku\":\"C\"}]}", "lines[1].qty",
                "qty is required"));
    CHECK(check("{\"sku\":\"A\",\"qty\":1,\"lines\":[{\"sku\":\"B\",\"qty\":null}]}", "lines[0].qty",
                "must not be null"));
    CHECK(check("{\"sku\":\"A\",\"qty\":1,\"lines\":[{\"sku\":\"B\",\"qty\":1,\"x\":1}]}", "lines[0].x",
                "unknown field \"x\""));
    CHECK(check("{\"sku\":\"A\",\"qty\":1,\"lines\":[5]}", "lines[0]", "lines[0] must be an object"));
    CHECK(check("{\"sku\":\"A\",\"qty\":1,\"lines\":[null]}", "lines[0]", "must be an object"));
    CHECK(check("{\"sku\":\"A\",\"qty\":1,\"rules\":{\"buffer\":\"auto\",\"share\":12.5,\"cap\":null}}", NULL, NULL));
    CHECK(check("{\"sku\":\"A\",\"qty\":1,\"rules\":{\"buffer\":\"lots\"}}", "rules.buffer",
                "buffer is a number of units or \"auto\""));
    CHECK(check("{\"sku\":\"A\",\"qty\":1,\"rules\":{\"buffer\":null}}", "rules.buffer", "buffer must not be null"));
    CHECK(check("{\"sku\":\"A\",\"qty\":1,\"rules\":{\"share\":100.5}}", "rules.share", "between 0 and 100"));
    CHECK(check("{\"sku\":\"A\",\"qty\":1,\"rules\":{\"share\":1e300}}", "rules.share", "between 0 and 100"));
    CHECK(check("{\"sku\":\"A\",\"qty\":1,\"rules\":{\"share\":\"5\"}}", "rules.share", "must be a number"));
    CHECK(check("{\"sku\":\"A\",\"qty\":1,\"rules\":{\"colour\":1}}", "rules.colour", "unknown field \"colour\""));
    CHECK(check("{\"sku\":\"A\",\"qty\":1,\"rules\":[]}", "rules", "rules must be an object"));
    CHECK(check("{\"sku\":\"A\",\"qty\":1,\"settings\":{\"anything\":{\"goes\":[1]}}}", NULL, NULL));

    /* A table of no fields takes {} and nothing else. */
    CHECK(check_with(oc_no_fields, "{}", NULL, NULL));
    CHECK(check_with(oc_no_fields, "{\"force\":true}", "force", "takes no fields"));

    /* A long unknown key is cut at a character boundary: the message stays valid UTF-8. */
    {
        char body[600] = "{\"";
        for (int i = 0; i < 150; i++)
            strcat(body, "\xc3\xa9");
        strcat(body, "\":1}");
        json_t *obj = json_loads(body, 0, NULL);
        oc_json_error_t err;
        CHECK(oc_json_validate(obj, fields, &err) == -1);
        CHECK(oc_utf8_ok(err.field, strlen(err.field)));
        CHECK(oc_utf8_ok(err.message, strlen(err.message)));
        json_decref(obj);
    }

    /* Every problem is reported, in order, however many there are: unknown keys, then the table's fields,
     * each array item checked even after an earlier one failed; the first is also field and message. */
    {
        json_t *obj = json_loads("{\"zz\":1, \"qty\":\"x\", \"lines\":[{\"sku\":1}, 5, {\"qty\":0}]}", 0, NULL);
        oc_json_error_t err;
        CHECK(oc_json_validate(obj, fields, &err) == -1);
        CHECK(strcmp(err.field, "zz") == 0);
        CHECK(err.nproblems >= 4);
        CHECK(strcmp(err.problems[0].field, "zz") == 0);
        int saw_item0 = 0, saw_item1 = 0, saw_item2 = 0, saw_qty = 0;
        for (int i = 0; i < err.nproblems && i < OC_JSON_MAX_PROBLEMS; i++) {
            saw_qty |= strcmp(err.problems[i].field, "qty") == 0;
            saw_item0 |= strncmp(err.problems[i].field, "lines[0]", 8) == 0;
            saw_item1 |= strcmp(err.problems[i].field, "lines[1]") == 0;
            saw_item2 |= strncmp(err.problems[i].field, "lines[2]", 8) == 0;
        }
        CHECK(saw_qty && saw_item0 && saw_item1 && saw_item2);
        json_decref(obj);
        /* a clean body after a failed one: nothing left over */
        obj = json_loads("{\"sku\":\"A\",\"qty\":1}", 0, NULL);
        CHECK(oc_json_validate(obj, fields, &err) == 0 && err.nproblems == 0);
        json_decref(obj);
    }

    /* UTF-8 as path segments, query values and headers must be. */
    CHECK(oc_utf8_ok("abc", 3));
    CHECK(oc_utf8_ok("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9));
    CHECK(!oc_utf8_ok("\xff", 1));
    CHECK(!oc_utf8_ok("\xc3", 1));
    CHECK(!oc_utf8_ok("\xc0\xaf", 2));         /* overlong '/' */
    CHECK(!oc_utf8_ok("\xed\xa0\x80", 3));     /* a surrogate */
    CHECK(!oc_utf8_ok("\xf4\x90\x80\x80", 4)); /* beyond U+10FFFF */
    CHECK(!oc_utf8_ok("a\0b", 3));

    /* The error body every 4xx/5xx uses. */
    json_t *e = oc_error_body("invalid", "qty must be positive", "qty", "rid-1");
    char *s = json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER);
    CHECK_STR(s, "{\"error\":{\"code\":\"invalid\",\"message\":\"qty must be positive\",\"field\":\"qty\","
                 "\"request_id\":\"rid-1\"}}");
    free(s);
    json_decref(e);
    e = oc_error_body("not_found", "no such brand", NULL, NULL);
    s = json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER);
    CHECK_STR(s, "{\"error\":{\"code\":\"not_found\",\"message\":\"no such brand\",\"field\":null}}");
    free(s);
    json_decref(e);
    /* A message cut in the middle of a character still makes a body. */
    e = oc_error_body("unknown_sku", "no SKU \xc3", "lines[0].sku", "rid-2");
    CHECK(e != NULL && json_is_string(json_object_get(json_object_get(e, "error"), "message")));
    json_decref(e);
    return oc_test_report();
}
