/*
 * json.c — request body validation (see json.h).
 */
#include "runtime/json.h"
#include "runtime/common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

const oc_field_t oc_no_fields[] = {{NULL}};

int oc_utf8_ok(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end) {
        unsigned c = *p;
        if (c == 0)
            return 0;
        if (c < 0x80) {
            p++;
            continue;
        }
        size_t n;
        unsigned cp;
        if (c >= 0xc2 && c <= 0xdf)
            n = 1, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
            n = 2, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
            n = 3, cp = c & 0x07;
        else
            return 0; /* a continuation byte first, an overlong lead (c0, c1) or beyond U+10FFFF */
        if ((size_t)(end - p) <= n)
            return 0;
        for (size_t i = 1; i <= n; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        p += n + 1;
    }
    return 1;
}

json_t *oc_json_text(const char *s)
{
    size_t len = strlen(s);
    if (oc_utf8_ok(s, len))
        return json_stringn(s, len);
    char *copy = oc_strdup(s);
    for (size_t i = 0; i < len;) {
        size_t n = 1;
        while (n <= 4 && i + n <= len && !oc_utf8_ok(copy + i, n))
            n++;
        if (n > 4 || i + n > len) {
            copy[i++] = '?';
            continue;
        }
        i += n;
    }
    json_t *j = json_string(copy);
    free(copy);
    return j;
}

/* Cuts a trailing incomplete UTF-8 sequence (left by a truncating snprintf). */
static void utf8_trim(char *s)
{
    size_t n = strlen(s), i = n;
    while (i > 0 && ((unsigned char)s[i - 1] & 0xc0) == 0x80)
        i--;
    if (i == 0)
        return;
    unsigned char lead = (unsigned char)s[i - 1];
    size_t want = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
    if (lead >= 0x80 && n - (i - 1) < want)
        s[i - 1] = '\0';
}

static int fail(oc_json_error_t *err, const char *path, const char *fmt, ...) OC_PRINTF(3, 4);
/* Records one problem (the first also as err->field and err->message); returns -1. */
static int fail(oc_json_error_t *err, const char *path, const char *fmt, ...)
{
    oc_json_problem_t p;
    snprintf(p.field, sizeof(p.field), "%s", path);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p.message, sizeof(p.message), fmt, ap);
    va_end(ap);
    utf8_trim(p.field);
    utf8_trim(p.message);
    if (err->nproblems == 0) {
        memcpy(err->field, p.field, sizeof(err->field));
        memcpy(err->message, p.message, sizeof(err->message));
    }
    if (err->nproblems < OC_JSON_MAX_PROBLEMS)
        err->problems[err->nproblems] = p;
    err->nproblems++;
    return -1;
}

static const char *type_name(oc_ftype_t t)
{
    switch (t) {
    case OC_F_STRING: return "a string";
    case OC_F_INT: return "an integer";
    case OC_F_NUMBER: return "a number";
    case OC_F_BOOL: return "true or false";
    case OC_F_UUID: return "a UUID string";
    case OC_F_ENUM: return "a string";
    case OC_F_OBJECT: return "an object";
    case OC_F_ARRAY: return "an array";
    case OC_F_ANY: return "a value";
    }
    return "a value";
}

static size_t utf8_chars(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xc0) != 0x80;
    return n;
}

static int validate(const json_t *obj, const oc_field_t *fields, const char *prefix, oc_json_error_t *err);

/* One present value `v` of field `f`, found at `path`; `label` names it in messages. */
static int check_value(const json_t *v, const oc_field_t *f, const char *path, const char *label, oc_json_error_t *err)
{
    if (json_is_null(v)) {
        if (f->flags & OC_NULLABLE)
            return 0;
        return fail(err, path, "%s must not be null", label);
    }
    switch (f->type) {
    case OC_F_STRING: {
        if (!json_is_string(v))
            goto WrongType;
        const char *s = json_string_value(v);
        size_t bytes = json_string_length(v);
        if (memchr(s, '\0', bytes) != NULL)
            return fail(err, path, "%s must not contain NUL characters", label);
        long long len = (long long)utf8_chars(s, bytes);
        if (f->message != NULL && (len < f->min || (f->max > 0 && len > f->max)))
            return fail(err, path, "%s", f->message);
        if (len < f->min)
            return fail(err, path, "%s must be at least %lld characters", label, f->min);
        if (f->max > 0 && len > f->max)
            return fail(err, path, "%s must be at most %lld characters", label, f->max);
        break;
    }
    case OC_F_INT: {
        if (!json_is_integer(v))
            goto WrongType;
        long long x = (long long)json_integer_value(v);
        if (x < f->min || x > f->max)
            goto OutOfRange;
        break;
    }
    case OC_F_NUMBER: {
        if (!json_is_number(v))
            goto WrongType;
        double x = json_number_value(v);
        if (!(x >= (double)f->min && x <= (double)f->max))
            goto OutOfRange;
        break;
    }
    case OC_F_BOOL:
        if (!json_is_boolean(v))
            goto WrongType;
        break;
    case OC_F_UUID:
        if (!json_is_string(v) || !oc_is_uuid(json_string_value(v), json_string_length(v)))
            return fail(err, path, "%s must be a UUID", label);
        break;
    case OC_F_ENUM: {
        if (!json_is_string(v))
            goto WrongType;
        const char *s = json_string_value(v);
        const char *const *c = f->choices;
        while (*c != NULL && strcmp(*c, s) != 0)
            c++;
        if (*c == NULL) {
            char list[160] = "";
            size_t n = 0;
            for (c = f->choices; *c != NULL && n < sizeof(list); c++)
                n += (size_t)snprintf(list + n, sizeof(list) - n, " %s", *c);
            return fail(err, path, "%s must be one of:%s", label, list);
        }
        break;
    }
    case OC_F_OBJECT:
        if (!json_is_object(v))
            goto WrongType;
        if (f->fields != NULL && validate(v, f->fields, path, err) != 0)
            return -1;
        break;
    case OC_F_ARRAY: {
        if (!json_is_array(v))
            goto WrongType;
        long long n = (long long)json_array_size(v);
        if (n < f->min || (f->max > 0 && n > f->max)) {
            if (f->max > 0)
                return fail(err, path, "%s must have between %lld and %lld items", label, f->min, f->max);
            return fail(err, path, "%s must have at least %lld items", label, f->min);
        }
        if (f->fields != NULL) {
            size_t i;
            json_t *item;
            int bad = 0;
            json_array_foreach(v, i, item)
            {
                char at[sizeof(err->field) + 24];
                snprintf(at, sizeof(at), "%s[%zu]", path, i);
                if (!json_is_object(item))
                    bad |= fail(err, at, "%s[%zu] must be an object", label, i);
                else
                    bad |= validate(item, f->fields, at, err);
            }
            if (bad)
                return -1;
        }
        break;
    }
    case OC_F_ANY: break;
    }
    if (f->check != NULL && f->check(v) != 0) {
        if (f->message != NULL)
            return fail(err, path, "%s", f->message);
        return fail(err, path, "%s is not valid", label);
    }
    return 0;
WrongType:
    if (f->message != NULL)
        return fail(err, path, "%s", f->message);
    return fail(err, path, "%s must be %s", label, type_name(f->type));
OutOfRange:
    if (f->message != NULL)
        return fail(err, path, "%s", f->message);
    return fail(err, path, "%s must be between %lld and %lld", label, f->min, f->max);
}

static int validate(const json_t *obj, const oc_field_t *fields, const char *prefix, oc_json_error_t *err)
{
    char path[sizeof(err->field)];
    const char *key;
    json_t *val;
    int bad = 0;
    json_object_foreach((json_t *)obj, key, val)
    {
        const oc_field_t *f = fields;
        while (f->name != NULL && strcmp(f->name, key) != 0)
            f++;
        if (f->name != NULL)
            continue;
        snprintf(path, sizeof(path), "%s%s%s", prefix ? prefix : "", prefix ? "." : "", key);
        if (fields[0].name == NULL) {
            bad |= fail(err, path, "unknown field \"%s\": %s takes no fields", key, prefix ? prefix : "this request");
            continue;
        }
        char known[120] = "";
        size_t n = 0;
        for (f = fields; f->name != NULL && n < sizeof(known); f++)
            n += (size_t)snprintf(known + n, sizeof(known) - n, "%s%s", f == fields ? "" : ", ", f->name);
        bad |= fail(err, path, "unknown field \"%s\" (known: %s)", key, known);
    }
    for (const oc_field_t *f = fields; f->name != NULL; f++) {
        snprintf(path, sizeof(path), "%s%s%s", prefix ? prefix : "", prefix ? "." : "", f->name);
        json_t *v = json_object_get(obj, f->name);
        if (v == NULL) {
            if (f->flags & OC_REQUIRED)
                bad |= fail(err, path, "%s is required", f->name);
            continue;
        }
        bad |= check_value(v, f, path, f->name, err);
    }
    return bad ? -1 : 0;
}

int oc_json_validate_at(const json_t *obj, const oc_field_t *fields, const char *prefix, oc_json_error_t *err)
{
    err->nproblems = 0;
    err->field[0] = err->message[0] = '\0';
    if (!json_is_object(obj))
        return fail(err, prefix ? prefix : "", "%s must be an object", prefix ? prefix : "the body");
    return validate(obj, fields, prefix, err);
}

int oc_json_validate(const json_t *obj, const oc_field_t *fields, oc_json_error_t *err)
{
    return oc_json_validate_at(obj, fields, NULL, err);
}

const char *oc_json_str(const json_t *obj, const char *name)
{
    return json_string_value(json_object_get(obj, name));
}

long long oc_json_int(const json_t *obj, const char *name, long long dflt)
{
    json_t *v = json_object_get(obj, name);
    return json_is_integer(v) ? (long long)json_integer_value(v) : dflt;
}

int oc_json_bool(const json_t *obj, const char *name, int dflt)
{
    json_t *v = json_object_get(obj, name);
    return json_is_boolean(v) ? json_is_true(v) : dflt;
}

json_t *oc_error_body(const char *code, const char *message, const char *field, const char *request_id)
{
    /* Messages quote what the client sent, cut to a buffer: never lose the body to a split character. */
    json_t *err = json_pack("{s:s, s:o}", "code", code, "message", oc_json_text(message));
    json_object_set_new(err, "field", field != NULL ? oc_json_text(field) : json_null());
    if (request_id != NULL)
        json_object_set_new(err, "request_id", json_string(request_id));
    return json_pack("{s:o}", "error", err);
}
