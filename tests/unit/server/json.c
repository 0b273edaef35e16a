/* Unit tests for server/json.c (body validation) and the one error shape. */
#include "server/http.h"
#include "server/json.h"
#include "test.h"

static const char *const kinds[] = {"receipt", "sale", NULL};
static const oc_field_t fields[] = {
    {"sku", OC_F_STRING, 1, 1, 64},
    {"qty", OC_F_INT, 1, 1, 1000000},
    {"kind", OC_F_ENUM, 0, 0, 0, kinds},
    {"note", OC_F_NULLABLE_STRING, 0, 0, 10},
    {"brand", OC_F_UUID, 0},
    {"flag", OC_F_BOOL, 0},
    {"lines", OC_F_ARRAY, 0, 1, 3},
    {NULL},
};

static int check(const char *body, const char *want_field, const char *want_msg)
{
    json_error_t je;
    json_t *obj =
        json_loads(body, JSON_ALLOW_NUL, &je); /* the server rejects NUL earlier; this checks the second line */
    oc_json_error_t err = {0};
    int rc = oc_json_validate(obj, fields, &err);
    int ok;
    if (want_field == NULL) {
        ok = rc == 0;
    } else {
        ok = rc == -1 && err.field != NULL && strcmp(err.field, want_field) == 0 &&
             (want_msg == NULL || strstr(err.message, want_msg) != NULL);
        if (!ok)
            fprintf(stderr, "  %s -> field=%s message=%s\n", body, err.field ? err.field : "(null)", err.message);
    }
    json_decref(obj);
    return ok;
}

int main(void)
{
    CHECK(check("{\"sku\":\"A\",\"qty\":1}", NULL, NULL));
    CHECK(check("{\"sku\":\"A\",\"qty\":1,\"kind\":\"sale\",\"note\":null,\"flag\":true,\"lines\":[1]}", NULL, NULL));
    CHECK(check("{\"qty\":1}", "sku", "sku is required"));
    CHECK(check("{\"sku\":\"A\"}", "qty", "qty is required"));
    CHECK(check("{\"sku\":\"A\",\"qty\":null}", "qty", "required"));
    CHECK(check("{\"sku\":5,\"qty\":1}", "sku", "must be a string"));
    CHECK(check("{\"sku\":\"\",\"qty\":1}", "sku", "at least 1"));
    CHECK(check("{\"sku\":\"A\",\"qty\":\"1\"}", "qty", "must be an integer"));
    CHECK(check("{\"sku\":\"A\",\"qty\":1.5}", "qty", "must be an integer"));
    CHECK(check("{\"sku\":\"A\",\"qty\":0}", "qty", "between 1 and 1000000"));
    CHECK(check("{\"sku\":\"A\",\"qty\":-3}", "qty", "between"));
    CHECK(check("{\"sku\":\"A\",\"qty\":99999999999999999}", "qty", "between"));
    CHECK(check("{\"sku\":\"A\",\"qty\":1,\"kind\":\"steal\"}", "kind", "one of: receipt sale"));
    CHECK(check("{\"sku\":\"A\",\"qty\":1,\"extra\":1}", "extra", "unknown field"));
    CHECK(check("{\"sku\":\"A\",\"qty\":1,\"brand\":\"not-a-uuid\"}", "brand", "UUID"));
    CHECK(check("{\"sku\":\"A\",\"qty\":1,\"brand\":\"0b9c2c8e-4a7e-4f4f-9a63-1f2a3b4c5d6e\"}", NULL, NULL));
    CHECK(check("{\"sku\":\"A\",\"qty\":1,\"flag\":1}", "flag", "true or false"));
    CHECK(check("{\"sku\":\"A\",\"qty\":1,\"lines\":[]}", "lines", "between 1 and 3"));
    CHECK(check("{\"sku\":\"A\",\"qty\":1,\"note\":\"01234567890\"}", "note", "at most 10"));
    CHECK(check("{\"sku\":\"A\\u0000B\",\"qty\":1}", "sku", "NUL"));

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
    return oc_test_report();
}
