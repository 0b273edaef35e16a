/*
 * json.h — validating JSON request bodies against a field table.
 *
 * Handlers describe the body they accept as a table of oc_field_t; the
 * validator checks types, ranges and required fields, rejects unknown
 * fields, and reports the first problem with the field's name so the
 * response can be a 422 that says exactly what to fix.
 */
#ifndef OC_JSON_H
#define OC_JSON_H

#include <jansson.h>

typedef enum {
    OC_F_STRING, /* min/max bound the length in characters (bytes for now: UTF-8 is validated by jansson) */
    OC_F_INT,    /* min/max bound the value */
    OC_F_BOOL,
    OC_F_UUID,   /* canonical lower-case UUID string */
    OC_F_ENUM,   /* string from `choices` */
    OC_F_OBJECT, /* any object; validated by the handler */
    OC_F_ARRAY,  /* min/max bound the number of elements */
    OC_F_NULLABLE_STRING,
} oc_ftype_t;

typedef struct oc_field {
    const char *name;
    oc_ftype_t type;
    int required;
    long long min, max;
    const char *const *choices; /* OC_F_ENUM, NULL-terminated */
} oc_field_t;

typedef struct oc_json_error {
    const char *field; /* static or from `obj` (valid while obj lives) */
    char message[160];
} oc_json_error_t;

/**
 * Checks `obj` against `fields` (terminated by a {NULL} row).  Returns 0 if
 * it conforms; otherwise -1 and fills `err` with the first problem.
 */
int oc_json_validate(const json_t *obj, const oc_field_t *fields, oc_json_error_t *err);

/** Convenience getters that assume validation passed (NULL / dflt when absent). */
const char *oc_json_str(const json_t *obj, const char *name);
long long oc_json_int(const json_t *obj, const char *name, long long dflt);
int oc_json_bool(const json_t *obj, const char *name, int dflt);

#endif
