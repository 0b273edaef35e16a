/*
 * migrate.c — forward-only migrations (see migrate.h).
 *
 * Runs as the schema owner (migrate_database_url).  The application role
 * `onecount_app` is created here when missing; migrations grant it exactly
 * the table privileges it needs and it never owns a table, so forced
 * row-level security always applies to it.
 */
#include "server/migrate.h"
#include "runtime/common.h"
#include "runtime/config.h"
#include "runtime/log.h"

#include <dirent.h>
#include <errno.h>
#include <libpq-fe.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct {
    int version;
    char *name; /* file name */
    char *path;
} mig_t;

static int cmp_mig(const void *a, const void *b)
{
    return ((const mig_t *)a)->version - ((const mig_t *)b)->version;
}

/* Lists NNNN_*.sql files; returns count or -1.  Duplicated versions are an error. */
static int list_migrations(const char *dir, mig_t **out)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return -1;
    mig_t *v = NULL;
    int n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *nm = de->d_name;
        size_t l = strlen(nm);
        if (l < 9 || strcmp(nm + l - 4, ".sql") != 0 || nm[4] != '_')
            continue;
        int ok = 1;
        for (int i = 0; i < 4; i++)
            ok &= nm[i] >= '0' && nm[i] <= '9';
        if (!ok)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            v = oc_realloc(v, (size_t)cap * sizeof(*v));
        }
        v[n].version = atoi(nm);
        v[n].name = oc_strdup(nm);
        size_t pl = strlen(dir) + l + 2;
        v[n].path = oc_malloc(pl);
        snprintf(v[n].path, pl, "%s/%s", dir, nm);
        n++;
    }
    closedir(d);
    if (n > 1) /* qsort must not be given NULL, even for none */
        qsort(v, (size_t)n, sizeof(*v), cmp_mig);
    *out = v;
    return n;
}

static void free_migrations(mig_t *v, int n)
{
    for (int i = 0; i < n; i++) {
        free(v[i].name);
        free(v[i].path);
    }
    free(v);
}

int oc_migrations_latest(const char *dir, int *count)
{
    mig_t *v = NULL;
    int n = list_migrations(dir, &v);
    if (n < 0)
        return -1;
    int latest = n > 0 ? v[n - 1].version : 0;
    if (count != NULL)
        *count = n;
    free_migrations(v, n);
    return latest;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return NULL;
    oc_buf_t b = {0};
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof(chunk), fp)) > 0)
        oc_buf_append(&b, chunk, got);
    fclose(fp);
    *len = b.len;
    oc_buf_cstr(&b);
    return b.data;
}

static void sha256_hex(const char *data, size_t len, char out[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)data, len, md);
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
        snprintf(out + i * 2, 3, "%02x", md[i]);
}

static int exec_ok(PGconn *pg, const char *sql, const char *what)
{
    PGresult *res = PQexec(pg, sql);
    ExecStatusType st = PQresultStatus(res);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok)
        fprintf(stderr, "migrate: %s: %s", what, PQresultErrorMessage(res));
    PQclear(res);
    return ok;
}

int oc_migrate_main(int argc, char **argv)
{
    int dry = argc > 1 && strcmp(argv[1], "--status") == 0;
    mig_t *migs = NULL;
    int n = list_migrations(oc_config.migrations_dir, &migs);
    if (n < 0) {
        fprintf(stderr, "migrate: cannot read migrations folder \"%s\": %s\n", oc_config.migrations_dir,
                strerror(errno));
        return 1;
    }
    for (int i = 1; i < n; i++) {
        if (migs[i].version == migs[i - 1].version) {
            fprintf(stderr, "migrate: two migrations share version %04d: %s and %s\n", migs[i].version,
                    migs[i - 1].name, migs[i].name);
            free_migrations(migs, n);
            return 1;
        }
    }
    PGconn *pg = PQconnectdb(oc_config.migrate_database_url);
    if (PQstatus(pg) != CONNECTION_OK) {
        fprintf(stderr, "migrate: cannot connect to PostgreSQL: %s", PQerrorMessage(pg));
        PQfinish(pg);
        free_migrations(migs, n);
        return 1;
    }
    int rc = 1, applied_now = 0;
    PQclear(PQexec(pg, "SET client_min_messages = warning"));
    if (!exec_ok(pg, "SELECT pg_advisory_lock(727274)", "lock"))
        goto Done;
    if (!exec_ok(pg,
                 "CREATE TABLE IF NOT EXISTS onecount_migrations ("
                 " version int PRIMARY KEY, name text NOT NULL, sha256 text NOT NULL,"
                 " applied_at timestamptz NOT NULL DEFAULT now())",
                 "create onecount_migrations"))
        goto Done;
    if (!exec_ok(pg,
                 "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'onecount_app') THEN"
                 " CREATE ROLE onecount_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE; END IF; END $$",
                 "create role onecount_app"))
        goto Done;
    if (!exec_ok(pg, "GRANT SELECT ON onecount_migrations TO onecount_app", "grant"))
        goto Done;

    for (int i = 0; i < n; i++) {
        size_t len;
        char *sql = read_file(migs[i].path, &len);
        if (sql == NULL) {
            fprintf(stderr, "migrate: cannot read %s: %s\n", migs[i].path, strerror(errno));
            goto Done;
        }
        char sum[65];
        sha256_hex(sql, len, sum);
        char ver[16];
        snprintf(ver, sizeof(ver), "%d", migs[i].version);
        const char *p[1] = {ver};
        PGresult *res = PQexecParams(pg, "SELECT name, sha256 FROM onecount_migrations WHERE version = $1", 1, NULL, p,
                                     NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            fprintf(stderr, "migrate: %s", PQresultErrorMessage(res));
            PQclear(res);
            free(sql);
            goto Done;
        }
        if (PQntuples(res) == 1) {
            if (strcmp(PQgetvalue(res, 0, 1), sum) != 0) {
                fprintf(stderr,
                        "migrate: %s was changed after it was applied (recorded sha256 %s, file %s);"
                        " add a new migration instead of editing an applied one\n",
                        migs[i].name, PQgetvalue(res, 0, 1), sum);
                PQclear(res);
                free(sql);
                goto Done;
            }
            PQclear(res);
            free(sql);
            continue;
        }
        PQclear(res);
        if (dry) {
            printf("pending: %s\n", migs[i].name);
            free(sql);
            continue;
        }
        if (!exec_ok(pg, "BEGIN", "begin")) {
            free(sql);
            goto Done;
        }
        res = PQexec(pg, sql);
        free(sql);
        if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
            fprintf(stderr, "migrate: %s failed: %s", migs[i].name, PQresultErrorMessage(res));
            PQclear(res);
            PQclear(PQexec(pg, "ROLLBACK"));
            goto Done;
        }
        PQclear(res);
        const char *ip[3] = {ver, migs[i].name, sum};
        res = PQexecParams(pg, "INSERT INTO onecount_migrations (version, name, sha256) VALUES ($1, $2, $3)", 3, NULL,
                           ip, NULL, NULL, 0);
        int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        PQclear(res);
        if (!ok || !exec_ok(pg, "COMMIT", "commit")) {
            PQclear(PQexec(pg, "ROLLBACK"));
            goto Done;
        }
        printf("applied %s\n", migs[i].name);
        applied_now++;
    }
    if (!dry)
        printf("schema is at version %d (%d applied now)\n", n > 0 ? migs[n - 1].version : 0, applied_now);
    rc = 0;
Done:
    PQclear(PQexec(pg, "SELECT pg_advisory_unlock(727274)"));
    PQfinish(pg);
    free_migrations(migs, n);
    return rc;
}
