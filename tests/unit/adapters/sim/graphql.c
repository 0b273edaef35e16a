/* Unit tests for adapters/sim/graphql.c: operations, variables, literals, directives, fragments, projection, cost. */
#include "adapters/sim/sim_internal.h"
#include "test.h"

#include <stdlib.h>

static const oc_sim_gql_field_t *child(const oc_sim_gql_field_t *f, int i)
{
    return i < f->nchildren ? &f->children[i] : NULL;
}

static int parse(oc_sim_gql_doc_t *doc, const char *text, const char *vars, const char *op)
{
    json_t *v = vars != NULL ? json_loads(vars, 0, NULL) : NULL;
    int rc = oc_sim_gql_parse(doc, text, strlen(text), v, op);
    json_decref(v);
    return rc;
}

static void test_variables_and_directives(void)
{
    oc_sim_gql_doc_t doc;
    const char *q = "# set stock\n"
                    "mutation Set($input: InventorySetQuantitiesInput!, $key: String = \"dflt\") {\n"
                    "  r: inventorySetQuantities(input: $input) @idempotent(key: $key) {\n"
                    "    userErrors { code field }\n"
                    "  }\n"
                    "}";
    CHECK_INT(parse(&doc, q, "{\"input\": {\"name\": \"available\", \"quantities\": [{\"quantity\": 3}]}}", NULL), 0);
    CHECK(doc.is_mutation);
    const oc_sim_gql_field_t *f = child(&doc.root, 0);
    CHECK(f != NULL);
    if (f != NULL) {
        CHECK_STR(f->name, "inventorySetQuantities");
        CHECK_STR(f->alias, "r");
        json_t *input = json_object_get(f->args, "input");
        CHECK_STR(json_string_value(json_object_get(input, "name")), "available");
        long long q3 = 0;
        CHECK(
            oc_sim_json_int(json_object_get(json_array_get(json_object_get(input, "quantities"), 0), "quantity"), &q3));
        CHECK_INT(q3, 3);
        /* the missing $key takes its default */
        CHECK_STR(json_string_value(json_object_get(json_object_get(f->directives, "idempotent"), "key")), "dflt");
        CHECK_INT(f->nchildren, 1);
        CHECK_INT(child(f, 0)->nchildren, 2);
    }
    oc_sim_gql_free(&doc);

    /* a required variable that is missing is an error */
    CHECK(parse(&doc, q, "{}", NULL) != 0);
    CHECK(strstr(doc.error, "$input") != NULL);
    oc_sim_gql_free(&doc);
}

static void test_literals(void)
{
    oc_sim_gql_doc_t doc;
    const char *q = "{ f(a: -12, b: 1.5e1, c: \"x\\\"y\\u00e9\", d: [1, [2]], e: {k: null, t: true}, g: ENUM_V, "
                    "h: \"\"\"raw \\n text\"\"\") }";
    CHECK_INT(parse(&doc, q, NULL, NULL), 0);
    CHECK(!doc.is_mutation);
    const oc_sim_gql_field_t *f = child(&doc.root, 0);
    long long a = 0;
    CHECK(oc_sim_json_int(json_object_get(f->args, "a"), &a) && a == -12);
    CHECK(json_real_value(json_object_get(f->args, "b")) == 15.0);
    CHECK_STR(json_string_value(json_object_get(f->args, "c")), "x\"y\xc3\xa9");
    CHECK_INT(json_array_size(json_array_get(json_object_get(f->args, "d"), 1)), 1);
    CHECK(json_is_null(json_object_get(json_object_get(f->args, "e"), "k")));
    CHECK(json_is_true(json_object_get(json_object_get(f->args, "e"), "t")));
    CHECK_STR(json_string_value(json_object_get(f->args, "g")), "ENUM_V");
    CHECK_STR(json_string_value(json_object_get(f->args, "h")), "raw \\n text");
    oc_sim_gql_free(&doc);
}

static void test_operations_and_fragments(void)
{
    oc_sim_gql_doc_t doc;
    const char *two = "query A { a } query B { b }";
    CHECK(parse(&doc, two, NULL, NULL) != 0); /* ambiguous without a name */
    oc_sim_gql_free(&doc);
    CHECK_INT(parse(&doc, two, NULL, "B"), 0);
    CHECK_STR(child(&doc.root, 0)->name, "b");
    oc_sim_gql_free(&doc);
    CHECK(parse(&doc, two, NULL, "C") != 0);
    oc_sim_gql_free(&doc);

    CHECK_INT(parse(&doc, "{ nodes(ids: [\"x\"]) { ... on InventoryItem { id sku } } }", NULL, NULL), 0);
    CHECK_INT(child(&doc.root, 0)->nchildren, 2); /* the inline fragment is flattened */
    oc_sim_gql_free(&doc);
    CHECK(parse(&doc, "{ nodes { ...F } } fragment F on X { id }", NULL, NULL) != 0);
    oc_sim_gql_free(&doc);
    CHECK(parse(&doc, "{ a(x: ", NULL, NULL) != 0);
    oc_sim_gql_free(&doc);
    CHECK(parse(&doc, "", NULL, NULL) != 0);
    oc_sim_gql_free(&doc);
    CHECK(parse(&doc, "{ a(s: \"unterminated) }", NULL, NULL) != 0);
    oc_sim_gql_free(&doc);
}

static void test_projection_and_cost(void)
{
    oc_sim_gql_doc_t doc;
    CHECK_INT(parse(&doc,
                    "{ item { sku lv: levels(first: 10) { nodes { quantities(names: [\"on_hand\", \"available\"]) "
                    "{ name quantity } } } } }",
                    NULL, NULL),
              0);
    json_t *value = json_loads("{\"sku\": \"A\", \"secret\": 1, \"levels\": {\"nodes\": [{\"quantities\": ["
                               "{\"name\": \"available\", \"quantity\": 2, \"updatedAt\": \"t\"},"
                               "{\"name\": \"committed\", \"quantity\": 1},"
                               "{\"name\": \"on_hand\", \"quantity\": 3}]}]}}",
                               0, NULL);
    const oc_sim_gql_field_t *item = child(&doc.root, 0);
    json_t *out = oc_sim_gql_project(value, item);
    char *s = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
    CHECK_STR(s, "{\"lv\":{\"nodes\":[{\"quantities\":[{\"name\":\"on_hand\",\"quantity\":3},"
                 "{\"name\":\"available\",\"quantity\":2}]}]},\"sku\":\"A\"}");
    free(s);
    json_decref(out);
    json_decref(value);
    /* item 1 + levels (2 + 10 × (nodes 1 + quantities 1)) */
    CHECK_INT(oc_sim_gql_cost(item), 1 + 2 + 10 * 2);
    oc_sim_gql_free(&doc);
}

int main(void)
{
    test_variables_and_directives();
    test_literals();
    test_operations_and_fragments();
    test_projection_and_cost();
    return oc_test_report();
}
