/*
 * schema.h — which migrations the database has, against what this build
 * expects (readiness).
 *
 * `migrate` records each migration it applies in onecount_migrations
 * (server/migrate.c); a process built with migrations up to version
 * `latest`, `count` files of them, is at its schema when the database has
 * every one of those and nothing newer.  A migration merged late, below the
 * latest, counts as pending until applied.
 */
#ifndef OC_SCHEMA_H
#define OC_SCHEMA_H

#include "runtime/db.h"

typedef struct oc_schema_version {
    long long applied; /* the latest version applied, 0 for none */
    const char *state; /* "ok", "ahead" (a version newer than this build's) or "pending" (one of this build's
                          missing); static */
} oc_schema_version_t;

/** The answer: `v` (borrowed for the call), or NULL and `err` the failed result. */
typedef void (*oc_schema_cb)(void *arg, const oc_db_result_t *err, const oc_schema_version_t *v);

/**
 * Reads the database's migrations against `latest` and `count` (above).
 * Returns 0 and calls cb once later, or an OC_E* code (no connection, a
 * full queue) and never calls it.
 */
int oc_schema_check(oc_db_pool_t *db, int latest, int count, oc_schema_cb cb, void *arg);

#endif
