/*
 * json.c — request body validation (see json.h).
 */
#include "server/json.h"
#include "server/common.h"

#include <stdio.h>

static const char *type_name(oc_ftype_t t)
{
    switch (t) {
    case OC_F_STRING:
    case OC_F_NULLABLE_STRING: return "a string";
    case OC_F_INT: return "an integer";
    case OC_F_BOOL: return "true or false";
    case OC_F_UUID: return "a UUID string";
    case OC_F_ENUM: return "a string";
    case OC_F_OBJECT: return "an object";
    case OC_F_ARRAY: return "an array";
    }
    return "a value";
}

int oc_json_validate(const json_t *obj, const oc_field_t *fields, oc_json_error_t *err)
{
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)obj, key, val)
    {
        const oc_field_t *f = fields;
        while (f->name != NULL && strcmp(f->name, key) != 0)
            f++;
        if (f->name == NULL) {
            err->field = key;
            snprintf(err->message, sizeof(err->message), "unknown field \"%s\"", key);
            return -1;
        }
    }
    for (const oc_field_t *f = fields; f->name != NULL; f++) {
        json_t *v = json_object_get(obj, f->name);
        if (v == NULL || (json_is_null(v) && f->type != OC_F_NULLABLE_STRING)) {
            if (f->required) {
                err->field = f->name;
                snprintf(err->message, sizeof(err->message), "%s is required", f->name);
                return -1;
            }
            continue; /* null counts as absent for optional fields */
        }
        switch (f->type) {
        case OC_F_NULLABLE_STRING:
            if (json_is_null(v))
                break;
            /* fall through */
        case OC_F_STRING: {
            if (!json_is_string(v))
                goto WrongType;
            long long len = (long long)json_string_length(v);
            if (len < f->min || (f->max > 0 && len > f->max)) {
                err->field = f->name;
                if (f->min > 0 && len < f->min)
                    snprintf(err->message, sizeof(err->message), "%s must be at least %lld characters", f->name,
                             f->min);
                else
                    snprintf(err->message, sizeof(err->message), "%s must be at most %lld characters", f->name, f->max);
                return -1;
            }
            if (memchr(json_string_value(v), '\0', json_string_length(v)) != NULL) {
                err->field = f->name;
                snprintf(err->message, sizeof(err->message), "%s must not contain NUL characters", f->name);
                return -1;
            }
            break;
        }
        case OC_F_INT: {
            if (!json_is_integer(v))
                goto WrongType;
            long long x = (long long)json_integer_value(v);
            if (x < f->min || x > f->max) {
                err->field = f->name;
                snprintf(err->message, sizeof(err->message), "%s must be between %lld and %lld", f->name, f->min,
                         f->max);
                return -1;
            }
            break;
        }
        case OC_F_BOOL:
            if (!json_is_boolean(v))
                goto WrongType;
            break;
        case OC_F_UUID:
            if (!json_is_string(v) || !oc_is_uuid(json_string_value(v), json_string_length(v))) {
                err->field = f->name;
                snprintf(err->message, sizeof(err->message), "%s must be a UUID", f->name);
                return -1;
            }
            break;
        case OC_F_ENUM: {
            if (!json_is_string(v))
                goto WrongType;
            const char *s = json_string_value(v);
            const char *const *c = f->choices;
            while (*c != NULL && strcmp(*c, s) != 0)
                c++;
            if (*c == NULL) {
                err->field = f->name;
                int n = snprintf(err->message, sizeof(err->message), "%s must be one of:", f->name);
                for (c = f->choices; *c != NULL && n > 0 && (size_t)n < sizeof(err->message); c++)
                    n += snprintf(err->message + n, sizeof(err->message) - (size_t)n, " %s", *c);
                return -1;
            }
            break;
        }
        case OC_F_OBJECT:
            if (!json_is_object(v))
                goto WrongType;
            break;
        case OC_F_ARRAY: {
            if (!json_is_array(v))
                goto WrongType;
            long long n = (long long)json_array_size(v);
            if (n < f->min || (f->max > 0 && n > f->max)) {
                err->field = f->name;
                snprintf(err->message, sizeof(err->message), "%s must have between %lld and %lld items", f->name,
                         f->min, f->max);
                return -1;
            }
            break;
        }
        }
        continue;
    WrongType:
        err->field = f->name;
        snprintf(err->message, sizeof(err->message), "%s must be %s", f->name, type_name(f->type));
        return -1;
    }
    return 0;
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
