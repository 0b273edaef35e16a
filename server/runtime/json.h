/*
 * json.h — validating JSON request bodies against a field table.
 *
 * Handlers describe the body they accept as a table of oc_field_t; the
 * validator checks types, ranges and required fields, refuses unknown
 * fields and null (unless the field is declared OC_NULLABLE), descends into
 * nested objects and arrays of objects that declare their own tables, and
 * reports the first problem with the field's path ("lines[2].qty",
 * "rules.buffer") so the response can be a 422 that says exactly what to
 * fix.  A body that passes holds nothing the table does not allow: what
 * reaches SQL is what the table (and web/openapi.json) says.
 */
#ifndef OC_JSON_H
#define OC_JSON_H

#include <jansson.h>
#include <stddef.h>

typedef enum {
    OC_F_STRING, /* min/max bound the length in characters (code points); NUL refused */
    OC_F_INT,    /* an integer (not 1.0, not 1e3); min/max bound the value */
    OC_F_NUMBER, /* an integer or a real; min/max bound the value */
    OC_F_BOOL,
    OC_F_UUID,   /* canonical lower-case UUID string */
    OC_F_ENUM,   /* string from `choices` */
    OC_F_OBJECT, /* an object: with `fields`, validated by them; without, by the handler */
    OC_F_ARRAY,  /* min/max bound the number of items; with `fields`, each item is such an object */
    OC_F_ANY,    /* any value but null; `check` decides */
} oc_ftype_t;

/* oc_field_t.flags (older tables write 1 for "required"). */
enum {
    OC_REQUIRED = 1,
    OC_NULLABLE = 2, /* null is a value of this field (it clears something); otherwise null is refused */
};

typedef struct oc_field {
    const char *name;
    oc_ftype_t type;
    int flags;
    long long min, max;
    const char *const *choices;    /* OC_F_ENUM, NULL-terminated */
    const struct oc_field *fields; /* OC_F_OBJECT / OC_F_ARRAY items: their table ({NULL}-terminated) */
    const char *message;           /* replaces the type and range messages ("share is a percentage …") */
    int (*check)(const json_t *v); /* extra rule once the type passed: 0 = ok (then `message` is said) */
} oc_field_t;

/** A table of no fields: for routes whose body must be empty or {}. */
extern const oc_field_t oc_no_fields[];

#define OC_JSON_MAX_PROBLEMS 16

typedef struct oc_json_problem {
    char field[128]; /* the path of the offending field: "lines[2].qty" */
    char message[200];
} oc_json_problem_t;

typedef struct oc_json_error {
    char field[128]; /* the first problem's field path */
    char message[200];
    int nproblems;                                    /* every problem found (may exceed the array) */
    oc_json_problem_t problems[OC_JSON_MAX_PROBLEMS]; /* the first OC_JSON_MAX_PROBLEMS, in order */
} oc_json_error_t;

/**
 * Checks `obj` against `fields` (terminated by a {NULL} row).  Returns 0 if
 * it conforms; otherwise -1 and fills `err`: the first problem in `field` and
 * `message`, and every problem (one per offending field, each field and
 * array item checked however many others fail) in `problems` — so a form
 * hears of all its mistakes at once.  A `prefix` names where obj lives for
 * nested use ("last_units"); NULL at the top.
 */
int oc_json_validate(const json_t *obj, const oc_field_t *fields, oc_json_error_t *err);
int oc_json_validate_at(const json_t *obj, const oc_field_t *fields, const char *prefix, oc_json_error_t *err);

/** Returns 1 when the `len` bytes at `s` are valid UTF-8 (shortest forms, no surrogates) without NUL. */
int oc_utf8_ok(const char *s, size_t len);

/** A JSON string of `s` for messages: bytes that are not UTF-8 become '?', so the text is never lost. */
json_t *oc_json_text(const char *s);

/** Convenience getters that assume validation passed (NULL / dflt when absent or null). */
const char *oc_json_str(const json_t *obj, const char *name);
long long oc_json_int(const json_t *obj, const char *name, long long dflt);
int oc_json_bool(const json_t *obj, const char *name, int dflt);

/**
 * The one error shape every answer uses: {"error":{"code","message","field","request_id"}}.
 * `field` NULL gives null; `request_id` NULL leaves it out (the response adds it).
 */
json_t *oc_error_body(const char *code, const char *message, const char *field, const char *request_id);

#endif
