/*
 * migrate.h — forward-only schema migrations.
 *
 * `onecount migrate` applies migrations/NNNN_name.sql in order, each in its
 * own transaction, and records (version, name, sha256) in
 * onecount_migrations.  A file whose checksum changed after it was applied
 * stops the run: migrations are never edited, only added.  An advisory lock
 * keeps two migrators from racing.
 */
#ifndef OC_MIGRATE_H
#define OC_MIGRATE_H

/** Runs `migrate` with the process configuration; returns the exit code. */
int oc_migrate_main(int argc, char **argv);

/** The highest NNNN found in `dir` (0 if none, -1 if unreadable). */
int oc_migrations_latest(const char *dir, int *count);

#endif
