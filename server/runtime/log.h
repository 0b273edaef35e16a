/*
 * log.h — one JSON line per event on stderr.
 *
 * Each line carries ts, level, msg and, when known, request_id and tenant,
 * plus any extra fields the caller adds.  Levels are checked before anything
 * is formatted.  Never log a token, password or credential: callers pass only
 * identifiers and summaries.  Messages follow PostgreSQL's style: short,
 * lower-case, no trailing period; detail goes in its own field.
 */
#ifndef OC_LOG_H
#define OC_LOG_H

#include <jansson.h>

#include "runtime/common.h"

typedef enum { OC_LOG_DEBUG = 0, OC_LOG_INFO, OC_LOG_WARN, OC_LOG_ERROR } oc_log_level_t;

/** Sets the least severe level written; accepts "debug", "info", "warn", "error". */
void oc_log_set_level(const char *name);

/** Returns 1 when `level` would be written. */
int oc_log_enabled(oc_log_level_t level);

/** Writes a line with a printf-formatted message. */
void oc_log(oc_log_level_t level, const char *fmt, ...) OC_PRINTF(2, 3);

/**
 * Writes a line with `msg` and the members of `fields` (may be NULL); steals
 * the reference to `fields`.
 */
void oc_log_fields(oc_log_level_t level, const char *msg, json_t *fields);

#define oc_log_debug(...) (oc_log_enabled(OC_LOG_DEBUG) ? oc_log(OC_LOG_DEBUG, __VA_ARGS__) : (void)0)
#define oc_log_info(...)  oc_log(OC_LOG_INFO, __VA_ARGS__)
#define oc_log_warn(...)  oc_log(OC_LOG_WARN, __VA_ARGS__)
#define oc_log_error(...) oc_log(OC_LOG_ERROR, __VA_ARGS__)

#endif
