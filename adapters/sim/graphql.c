/*
 * graphql.c — the slice of GraphQL the Shopify simulator needs: one
 * operation (chosen by name when the document holds several), variable
 * definitions with defaults, fields with aliases, arguments (every literal
 * kind, lists, input objects, $variables), directives such as
 * @idempotent(key:), and inline fragments (flattened into their parent).
 * Named fragments are refused.  Variables are substituted while parsing, so
 * a handler sees plain JSON argument values either way a client writes them.
 *
 * oc_sim_gql_project() then shapes a resolver's full JSON value by the
 * selection set, so answers carry exactly the fields (and aliases) asked for.
 */
#include "adapters/sim/sim_internal.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct parser {
    const char *start, *p, *end;
    const json_t *vars;
    json_t *defaults; /* variable name -> default value */
    json_t *required; /* variable name -> true when non-null without default */
    oc_sim_gql_doc_t *doc;
    int failed;
    int depth;
    char *last_var; /* the variable the value just parsed was, when it was one ($name) */
} parser_t;

static void fail(parser_t *ps, const char *fmt, ...) OC_PRINTF(2, 3);

static void fail(parser_t *ps, const char *fmt, ...)
{
    if (ps->failed)
        return;
    ps->failed = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ps->doc->error, sizeof(ps->doc->error), fmt, ap);
    va_end(ap);
}

static void skip(parser_t *ps)
{
    while (ps->p < ps->end) {
        char c = *ps->p;
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',') {
            ps->p++;
        } else if (c == '#') {
            while (ps->p < ps->end && *ps->p != '\n')
                ps->p++;
        } else if ((unsigned char)c == 0xef && ps->end - ps->p >= 3 && (unsigned char)ps->p[1] == 0xbb &&
                   (unsigned char)ps->p[2] == 0xbf) {
            ps->p += 3;
        } else {
            break;
        }
    }
}

static int peek(parser_t *ps)
{
    skip(ps);
    return ps->p < ps->end ? (unsigned char)*ps->p : -1;
}

static int accept_char(parser_t *ps, char c)
{
    if (peek(ps) == c) {
        ps->p++;
        return 1;
    }
    return 0;
}

static void expect(parser_t *ps, char c)
{
    if (!accept_char(ps, c))
        fail(ps, "Parse error: expected \"%c\" at offset %ld", c, (long)(ps->p - ps->start));
}

static int is_name_start(int c)
{
    return c == '_' || isalpha(c);
}

/* Reads a name into a new malloc'd string, or NULL (and fails). */
static char *read_name(parser_t *ps)
{
    if (!is_name_start(peek(ps))) {
        fail(ps, "Parse error: expected a name near \"%.20s\"", ps->p < ps->end ? ps->p : "end of document");
        return NULL;
    }
    const char *s = ps->p;
    while (ps->p < ps->end && (*ps->p == '_' || isalnum((unsigned char)*ps->p)))
        ps->p++;
    return oc_strndup(s, (size_t)(ps->p - s));
}

static int name_is(parser_t *ps, const char *word)
{
    size_t l = strlen(word);
    if (peek(ps) < 0 || (size_t)(ps->end - ps->p) < l || memcmp(ps->p, word, l) != 0)
        return 0;
    return ps->p + l == ps->end || !(ps->p[l] == '_' || isalnum((unsigned char)ps->p[l]));
}

static void utf8_put(oc_buf_t *b, unsigned cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xc0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xe0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        u[0] = (char)(0xf0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    oc_buf_append(b, u, n);
}

static json_t *read_string(parser_t *ps)
{
    oc_buf_t b = {0};
    json_t *out = NULL;
    if (ps->end - ps->p >= 3 && memcmp(ps->p, "\"\"\"", 3) == 0) { /* block string, taken verbatim */
        ps->p += 3;
        const char *s = ps->p;
        while (ps->end - ps->p >= 3 && memcmp(ps->p, "\"\"\"", 3) != 0)
            ps->p++;
        if (ps->end - ps->p < 3) {
            fail(ps, "Parse error: unterminated block string");
            return NULL;
        }
        out = json_stringn(s, (size_t)(ps->p - s));
        ps->p += 3;
        return out;
    }
    ps->p++;
    while (ps->p < ps->end && *ps->p != '"') {
        char c = *ps->p++;
        if (c == '\n') {
            fail(ps, "Parse error: unterminated string");
            goto Done;
        }
        if (c != '\\') {
            oc_buf_append(&b, &c, 1);
            continue;
        }
        if (ps->p >= ps->end)
            break;
        char e = *ps->p++;
        switch (e) {
        case '"':
        case '\\':
        case '/': oc_buf_append(&b, &e, 1); break;
        case 'b': oc_buf_append(&b, "\b", 1); break;
        case 'f': oc_buf_append(&b, "\f", 1); break;
        case 'n': oc_buf_append(&b, "\n", 1); break;
        case 'r': oc_buf_append(&b, "\r", 1); break;
        case 't': oc_buf_append(&b, "\t", 1); break;
        case 'u': {
            if (ps->end - ps->p < 4) {
                fail(ps, "Parse error: bad \\u escape");
                goto Done;
            }
            char hex[5] = {ps->p[0], ps->p[1], ps->p[2], ps->p[3], 0};
            char *endp;
            unsigned cp = (unsigned)strtoul(hex, &endp, 16);
            if (*endp != '\0') {
                fail(ps, "Parse error: bad \\u escape");
                goto Done;
            }
            ps->p += 4;
            utf8_put(&b, cp);
            break;
        }
        default: fail(ps, "Parse error: bad escape \\%c", e); goto Done;
        }
    }
    if (ps->p >= ps->end) {
        fail(ps, "Parse error: unterminated string");
        goto Done;
    }
    ps->p++;
    out = json_stringn(b.data != NULL ? b.data : "", b.len);
    if (out == NULL)
        fail(ps, "Parse error: string is not valid UTF-8");
Done:
    oc_buf_free(&b);
    return out;
}

static json_t *read_number(parser_t *ps)
{
    const char *s = ps->p;
    int is_float = 0;
    if (*ps->p == '-')
        ps->p++;
    while (ps->p < ps->end && (isdigit((unsigned char)*ps->p) || *ps->p == '.' || *ps->p == 'e' || *ps->p == 'E' ||
                               ((*ps->p == '+' || *ps->p == '-') && (ps->p[-1] == 'e' || ps->p[-1] == 'E')))) {
        if (*ps->p == '.' || *ps->p == 'e' || *ps->p == 'E')
            is_float = 1;
        ps->p++;
    }
    char buf[64];
    size_t l = (size_t)(ps->p - s);
    if (l == 0 || l >= sizeof(buf)) {
        fail(ps, "Parse error: bad number");
        return NULL;
    }
    memcpy(buf, s, l);
    buf[l] = '\0';
    char *endp;
    if (is_float) {
        double d = strtod(buf, &endp);
        if (*endp != '\0') {
            fail(ps, "Parse error: bad number \"%s\"", buf);
            return NULL;
        }
        return json_real(d);
    }
    long long v = strtoll(buf, &endp, 10);
    if (*endp != '\0') {
        fail(ps, "Parse error: bad number \"%s\"", buf);
        return NULL;
    }
    return json_integer(v);
}

static json_t *parse_value(parser_t *ps)
{
    if (ps->failed)
        return NULL;
    if (++ps->depth > 64) {
        fail(ps, "Parse error: value nested too deeply");
        return NULL;
    }
    json_t *out = NULL;
    int c = peek(ps);
    if (c == '$') {
        ps->p++;
        char *name = read_name(ps);
        if (name == NULL)
            goto Done;
        json_t *v = ps->vars != NULL ? json_object_get(ps->vars, name) : NULL;
        if (v == NULL)
            v = json_object_get(ps->defaults, name);
        if (v == NULL && json_object_get(ps->required, name) != NULL)
            fail(ps, "Variable $%s of type was provided invalid value: Expected value to not be null", name);
        out = v != NULL ? json_deep_copy(v) : json_null();
        free(ps->last_var);
        ps->last_var = name;
    } else if (c == '[') {
        ps->p++;
        out = json_array();
        while (!ps->failed && !accept_char(ps, ']')) {
            if (peek(ps) < 0) {
                fail(ps, "Parse error: unterminated list");
                break;
            }
            json_t *v = parse_value(ps);
            if (v != NULL)
                json_array_append_new(out, v);
        }
    } else if (c == '{') {
        ps->p++;
        out = json_object();
        while (!ps->failed && !accept_char(ps, '}')) {
            char *k = read_name(ps);
            expect(ps, ':');
            json_t *v = parse_value(ps);
            if (k != NULL && v != NULL)
                json_object_set_new(out, k, v);
            else
                json_decref(v);
            free(k);
        }
    } else if (c == '"') {
        out = read_string(ps);
    } else if (c == '-' || isdigit(c)) {
        out = read_number(ps);
    } else if (is_name_start(c)) {
        char *name = read_name(ps);
        if (name == NULL)
            goto Done;
        if (strcmp(name, "true") == 0)
            out = json_true();
        else if (strcmp(name, "false") == 0)
            out = json_false();
        else if (strcmp(name, "null") == 0)
            out = json_null();
        else
            out = json_string(name); /* an enum value */
        free(name);
    } else {
        fail(ps, "Parse error: unexpected %s", c < 0 ? "end of document" : "character");
    }
Done:
    ps->depth--;
    if (ps->failed) {
        json_decref(out);
        return NULL;
    }
    return out;
}

/* Arguments; `vars` (when given) gets argument name -> variable name for each argument given as one. */
static json_t *parse_args(parser_t *ps, json_t *vars)
{
    json_t *args = json_object();
    if (!accept_char(ps, '('))
        return args;
    while (!ps->failed && !accept_char(ps, ')')) {
        char *k = read_name(ps);
        expect(ps, ':');
        free(ps->last_var);
        ps->last_var = NULL;
        int direct = peek(ps) == '$';
        json_t *v = parse_value(ps);
        if (k != NULL && v != NULL && vars != NULL && direct && ps->last_var != NULL)
            json_object_set_new(vars, k, json_string(ps->last_var));
        if (k != NULL && v != NULL)
            json_object_set_new(args, k, v);
        else
            json_decref(v);
        free(k);
        if (peek(ps) < 0)
            fail(ps, "Parse error: unterminated arguments");
    }
    return args;
}

static json_t *parse_directives(parser_t *ps)
{
    json_t *d = json_object();
    while (!ps->failed && accept_char(ps, '@')) {
        char *name = read_name(ps);
        json_t *args = parse_args(ps, NULL);
        if (name != NULL)
            json_object_set_new(d, name, args);
        else
            json_decref(args);
        free(name);
    }
    return d;
}

static void field_free(oc_sim_gql_field_t *f)
{
    for (int i = 0; i < f->nchildren; i++)
        field_free(&f->children[i]);
    free(f->children);
    free(f->alias);
    free(f->name);
    json_decref(f->args);
    json_decref(f->arg_vars);
    json_decref(f->directives);
    memset(f, 0, sizeof(*f));
}

static oc_sim_gql_field_t *add_child(parser_t *ps, oc_sim_gql_field_t *parent)
{
    oc_sim_gql_field_t *c = oc_realloc(parent->children, (size_t)(parent->nchildren + 1) * sizeof(*c));
    parent->children = c;
    memset(&c[parent->nchildren], 0, sizeof(*c));
    return &c[parent->nchildren++];
}

static void parse_selection_set(parser_t *ps, oc_sim_gql_field_t *parent);

static void parse_field(parser_t *ps, oc_sim_gql_field_t *f)
{
    char *first = read_name(ps);
    if (first == NULL)
        return;
    if (accept_char(ps, ':')) {
        f->alias = first;
        f->name = read_name(ps);
    } else {
        f->name = first;
        f->alias = oc_strdup(first);
    }
    f->arg_vars = json_object();
    f->args = parse_args(ps, f->arg_vars);
    f->directives = parse_directives(ps);
    if (peek(ps) == '{')
        parse_selection_set(ps, f);
}

static void parse_selection_set(parser_t *ps, oc_sim_gql_field_t *parent)
{
    if (++ps->depth > 32) {
        fail(ps, "Parse error: selection nested too deeply");
        return;
    }
    expect(ps, '{');
    while (!ps->failed && !accept_char(ps, '}')) {
        if (peek(ps) < 0) {
            fail(ps, "Parse error: unterminated selection set");
            break;
        }
        if (ps->end - ps->p >= 3 && memcmp(ps->p, "...", 3) == 0) {
            ps->p += 3;
            if (!name_is(ps, "on")) {
                fail(ps, "fragment spreads are not supported by the simulator; use inline fragments");
                break;
            }
            free(read_name(ps));
            free(read_name(ps)); /* the type condition: every node here has the one type asked for */
            json_decref(parse_directives(ps));
            parse_selection_set(ps, parent);
            continue;
        }
        parse_field(ps, add_child(ps, parent));
    }
    ps->depth--;
}

static void skip_type(parser_t *ps)
{
    if (accept_char(ps, '[')) {
        skip_type(ps);
        expect(ps, ']');
    } else {
        free(read_name(ps));
    }
    accept_char(ps, '!');
}

static void parse_variable_defs(parser_t *ps)
{
    if (!accept_char(ps, '('))
        return;
    while (!ps->failed && !accept_char(ps, ')')) {
        expect(ps, '$');
        char *name = read_name(ps);
        expect(ps, ':');
        const char *type_start = ps->p;
        skip_type(ps);
        int non_null = ps->p > type_start && ps->p[-1] == '!';
        if (accept_char(ps, '=')) {
            json_t *v = parse_value(ps);
            if (name != NULL && v != NULL)
                json_object_set_new(ps->defaults, name, v);
            else
                json_decref(v);
        } else if (non_null && name != NULL) {
            json_object_set_new(ps->required, name, json_true());
        }
        json_decref(parse_directives(ps));
        free(name);
        if (peek(ps) < 0)
            fail(ps, "Parse error: unterminated variable definitions");
    }
}

int oc_sim_gql_parse(oc_sim_gql_doc_t *doc, const char *text, size_t len, const json_t *variables, const char *op_name)
{
    memset(doc, 0, sizeof(*doc));
    parser_t ps = {
        .start = text, .p = text, .end = text + len, .vars = json_is_object(variables) ? variables : NULL, .doc = doc};
    int found = 0, count = 0;
    while (!ps.failed && peek(&ps) >= 0) {
        oc_sim_gql_field_t root = {0};
        int is_mutation = 0;
        char *name = NULL;
        ps.defaults = json_object();
        ps.required = json_object();
        if (peek(&ps) == '{') {
            parse_selection_set(&ps, &root);
        } else if (name_is(&ps, "query") || name_is(&ps, "mutation")) {
            is_mutation = name_is(&ps, "mutation");
            free(read_name(&ps));
            if (is_name_start(peek(&ps)))
                name = read_name(&ps);
            parse_variable_defs(&ps);
            json_decref(parse_directives(&ps));
            parse_selection_set(&ps, &root);
        } else if (name_is(&ps, "fragment")) {
            fail(&ps, "named fragments are not supported by the simulator");
        } else if (name_is(&ps, "subscription")) {
            fail(&ps, "subscriptions are not supported");
        } else {
            fail(&ps, "Parse error: expected an operation near \"%.20s\"", ps.p);
        }
        json_decref(ps.defaults);
        json_decref(ps.required);
        free(ps.last_var);
        ps.last_var = NULL;
        count++;
        int wanted =
            op_name == NULL || *op_name == '\0' ? !found : (name != NULL && strcmp(name, op_name) == 0 && !found);
        if (!ps.failed && wanted) {
            field_free(&doc->root);
            doc->root = root;
            doc->is_mutation = is_mutation;
            found = 1;
        } else {
            field_free(&root);
        }
        free(name);
    }
    if (!ps.failed && count == 0)
        fail(&ps, "Parse error: the document holds no operation");
    if (!ps.failed && (op_name == NULL || *op_name == '\0') && count > 1)
        fail(&ps, "An operation name is required when the document holds several operations");
    if (!ps.failed && !found)
        fail(&ps, "Unknown operation named \"%s\"", op_name != NULL ? op_name : "");
    return ps.failed ? -1 : 0;
}

void oc_sim_gql_free(oc_sim_gql_doc_t *doc)
{
    field_free(&doc->root);
}

/* quantities(names: [...]) keeps the named quantities, in the order asked. */
static json_t *filter_quantities(const json_t *list, const json_t *names)
{
    json_t *out = json_array();
    size_t i, j;
    json_t *n, *q;
    json_array_foreach(names, i, n)
    {
        json_array_foreach(list, j, q)
        {
            if (json_equal(json_object_get(q, "name"), n)) {
                json_array_append(out, q);
                break;
            }
        }
    }
    return out;
}

json_t *oc_sim_gql_project(const json_t *value, const oc_sim_gql_field_t *field)
{
    if (value == NULL)
        return json_null();
    if (field->nchildren == 0 || json_is_null(value))
        return json_incref((json_t *)value);
    if (json_is_array(value)) {
        json_t *out = json_array();
        size_t i;
        json_t *e;
        json_array_foreach(value, i, e) json_array_append_new(out, oc_sim_gql_project(e, field));
        return out;
    }
    if (!json_is_object(value))
        return json_incref((json_t *)value);
    json_t *out = json_object();
    for (int i = 0; i < field->nchildren; i++) {
        const oc_sim_gql_field_t *c = &field->children[i];
        json_t *member = json_object_get(value, c->name);
        json_t *names = json_object_get(c->args, "names");
        if (strcmp(c->name, "quantities") == 0 && json_is_array(names) && json_is_array(member)) {
            json_t *filtered = filter_quantities(member, names);
            json_object_set_new(out, c->alias, oc_sim_gql_project(filtered, c));
            json_decref(filtered);
        } else {
            json_object_set_new(out, c->alias, oc_sim_gql_project(member, c));
        }
    }
    return out;
}

int oc_sim_gql_cost(const oc_sim_gql_field_t *field)
{
    if (field->nchildren == 0)
        return 0;
    int sum = 0;
    for (int i = 0; i < field->nchildren; i++)
        sum += oc_sim_gql_cost(&field->children[i]);
    long long first;
    json_t *n = json_object_get(field->args, "first");
    if (n == NULL)
        n = json_object_get(field->args, "last");
    if (n != NULL && oc_sim_json_int(n, &first) && first > 0) {
        long long c = 2 + first * (long long)sum;
        return c > 100000 ? 100000 : (int)c;
    }
    return 1 + sum;
}
