/* Unit tests for server/runtime/db.c: array parameters, statement parameter counts. */
#include "runtime/db.h"
#include "test.h"

static const char *literal(oc_buf_t *b)
{
    return oc_db_array_end(b);
}

int main(void)
{
    oc_buf_t b = {0};
    CHECK_STR(literal(&b), "{}");
    oc_buf_free(&b);

    b = (oc_buf_t){0};
    oc_db_array_add(&b, "a");
    oc_db_array_add(&b, "b c");
    CHECK_STR(literal(&b), "{\"a\",\"b c\"}");
    oc_buf_free(&b);

    /* quotes, backslashes, braces and commas are data, not syntax */
    b = (oc_buf_t){0};
    oc_db_array_add(&b, "say \"hi\"");
    oc_db_array_add(&b, "back\\slash");
    oc_db_array_add(&b, "{x,y}");
    oc_db_array_add(&b, "");
    CHECK_STR(literal(&b), "{\"say \\\"hi\\\"\",\"back\\\\slash\",\"{x,y}\",\"\"}");
    oc_buf_free(&b);

    b = (oc_buf_t){0};
    oc_db_array_add(&b, NULL);
    oc_db_array_add_ll(&b, -42);
    oc_db_array_add_n(&b, "abcdef", 3);
    CHECK_STR(literal(&b), "{NULL,-42,\"abc\"}");
    oc_buf_free(&b);

    b = (oc_buf_t){0};
    oc_db_array_add_ll(&b, 7);
    CHECK_STR(literal(&b), "{7}");
    oc_buf_free(&b);

    /* strings of a JSON array, or one string member of each element; anything else is skipped */
    b = (oc_buf_t){0};
    json_t *plain = json_loads("[\"x\", 3, null, \"y\\\"z\"]", 0, NULL);
    CHECK_INT(oc_db_array_add_strings(&b, plain, NULL), 0);
    CHECK_STR(literal(&b), "{\"x\",\"y\\\"z\"}");
    oc_buf_free(&b);
    b = (oc_buf_t){0};
    json_t *rows = json_loads("[{\"id\": \"a\"}, {\"id\": 1}, {\"other\": \"b\"}, \"c\", {\"id\": \"d\"}]", 0, NULL);
    CHECK_INT(oc_db_array_add_strings(&b, rows, "id"), 0);
    CHECK_STR(literal(&b), "{\"a\",\"d\"}");
    oc_buf_free(&b);
    b = (oc_buf_t){0};
    CHECK_INT(oc_db_array_add_strings(&b, NULL, NULL), 0);
    CHECK_STR(literal(&b), "{}");
    oc_buf_free(&b);
    json_decref(plain);
    json_decref(rows);

    CHECK_INT(oc_db_count_params("SELECT $1, $2::int, $10"), 10);
    CHECK_INT(oc_db_count_params("SELECT 1"), 0);
    return oc_test_report();
}
