/*
 * main.c — the `onecount` executable: one binary, one subcommand per process role.
 */
#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "adapters/sim/sim.h"
#include "adapters/sync/worker.h"
#include "server/admin.h"
#include "runtime/config.h"
#include "server/demo.h"
#include "server/http.h"
#include "runtime/log.h"
#include "server/migrate.h"
#include "server/router.h"
#include "tenants/identity.h"
#include "tenants/vault.h"

extern int oc_expected_migration, oc_expected_migration_count;

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    int needs_config;
    const char *help;
} subcommand_t;

static int cmd_serve(int argc, char **argv)
{
    oc_expected_migration = oc_migrations_latest(oc_config.migrations_dir, &oc_expected_migration_count);
    if (oc_expected_migration < 0) {
        oc_log_error("cannot read migrations folder %s", oc_config.migrations_dir);
        return 1;
    }
    oc_identity_init();
    if (oc_vault_init() != 0)
        oc_log_warn("the credential vault has no key: connecting channels is unavailable until"
                    " ONECOUNT_MASTER_KEY or the key file (onecount admin keygen) is set");
    return oc_serve_main();
}

static int cmd_migrate(int argc, char **argv)
{
    return oc_migrate_main(argc, argv);
}

static int cmd_routes(int argc, char **argv)
{
    json_t *routes = oc_router_describe();
    char *s = json_dumps(routes, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    puts(s);
    free(s);
    json_decref(routes);
    return 0;
}

/* Prepares every SQL statement of the program against the database: a typo
 * or a wrong parameter count fails here rather than on a rare code path. */
static int check_sql(void)
{
    if (oc_config_load(&oc_config, NULL, stderr) != 0)
        return 2;
    PGconn *pg = PQconnectdb(oc_config.database_url);
    if (PQstatus(pg) != CONNECTION_OK) {
        fprintf(stderr, "check-sql: cannot connect: %s", PQerrorMessage(pg));
        PQfinish(pg);
        return 1;
    }
    size_t n;
    oc_db_stmt_t *const *all = oc_db_all_statements(&n);
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        int used = oc_db_count_params(all[i]->sql);
        if (used != all[i]->nparams) {
            fprintf(stderr, "check-sql: %s declares %d parameters but uses $%d\n", all[i]->name, all[i]->nparams, used);
            bad++;
            continue;
        }
        PGresult *res = PQprepare(pg, all[i]->name, all[i]->sql, all[i]->nparams, NULL);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            fprintf(stderr, "check-sql: %s: %s", all[i]->name, PQresultErrorMessage(res));
            bad++;
        }
        PQclear(res);
    }
    PQfinish(pg);
    printf("%zu statements, %d bad\n", n, bad);
    oc_config_free(&oc_config);
    return bad == 0 ? 0 : 1;
}

/* Helpers for scripts and tests: free-port prints a currently free loopback
 * TCP port; check-sql prepares every statement against the database. */
static int cmd_util(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "check-sql") == 0)
        return check_sql();
    if (argc < 2 || strcmp(argv[1], "free-port") != 0) {
        fprintf(stderr, "usage: onecount util free-port | check-sql\n");
        return 2;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof(sa);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
        perror("onecount util free-port");
        return 1;
    }
    printf("%d\n", ntohs(sa.sin_port));
    close(fd);
    return 0;
}

static int cmd_sim(int argc, char **argv)
{
    return oc_sim_main(argc, argv);
}

static int cmd_admin(int argc, char **argv)
{
    return oc_admin_main(argc, argv);
}

static int cmd_worker(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return oc_worker_main();
}

static int cmd_demo(int argc, char **argv)
{
    oc_identity_init();
    return oc_demo_main(argc, argv);
}

static const subcommand_t subcommands[] = {
    {"serve", cmd_serve, 1, "run the HTTP API and the web console"},
    {"worker", cmd_worker, 1, "push quantities to the channels, ingest their orders and returns, run the routines"},
    {"migrate", cmd_migrate, 1, "apply migrations/NNNN_*.sql in order (--status lists pending ones)"},
    {"sim", cmd_sim, 1, "run the Shopify, Amazon and Walmart simulators"},
    {"admin", cmd_admin, 1, "keygen, rotate-key, retire-keys, create-portfolio, create-user"},
    {"demo", cmd_demo, 1, "create the demo portfolio (first run) and wire it to running simulators"},
    {"routes", cmd_routes, 0, "print the API route table as JSON"},
    {"util", cmd_util, 0, "helpers for scripts: free-port, check-sql"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: onecount <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
        fprintf(out, "  %-10s %s\n", subcommands[i].name, subcommands[i].help);
    fprintf(out, "\n`onecount <command> --help` lists the configuration it reads.\n");
}

int main(int argc, char **argv)
{
    oc_alloc_init(); /* before any JSON: the allocation policy (runtime/alloc.h) */
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const subcommand_t *sc = NULL;
    for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
        if (strcmp(argv[1], subcommands[i].name) == 0)
            sc = &subcommands[i];
    if (sc == NULL) {
        fprintf(stderr, "onecount: unknown command \"%s\"\n\n", argv[1]);
        usage(stderr);
        return 2;
    }
    if (argc > 2 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
        printf("onecount %s: %s\n\n", sc->name, sc->help);
        oc_config_print_help(stdout);
        return 0;
    }
    if (sodium_init() < 0) {
        fprintf(stderr, "onecount: libsodium failed to initialise\n");
        return 1;
    }
    if (sc->needs_config) {
        int bad = oc_config_load(&oc_config, NULL, stderr);
        if (bad > 0) {
            fprintf(stderr, "onecount: %d configuration value%s invalid; see `onecount %s --help`\n", bad,
                    bad == 1 ? " is" : "s are", sc->name);
            return 2;
        }
        oc_log_set_level(oc_config.log_level);
    }
    int rc = sc->run(argc - 1, argv + 1);
    if (sc->needs_config)
        oc_config_free(&oc_config);
    return rc;
}
