/*
 * config.c — the configuration table and its loader (see config.h).
 */
#include "runtime/config.h"
#include "runtime/common.h"
#include "runtime/netaddr.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

oc_config_t oc_config;

static const char *const log_levels[] = {"debug", "info", "warn", "error", NULL};

#define STR(field)              OC_CFG_STRING, NULL, 0, 0, NULL, 0, offsetof(oc_config_t, field)
#define SECRET(field)           OC_CFG_STRING, NULL, 0, 0, NULL, 1, offsetof(oc_config_t, field)
#define INT(field, def, lo, hi) OC_CFG_INT, def, lo, hi, NULL, 0, offsetof(oc_config_t, field)

const oc_cfg_option_t oc_config_options[] = {
    {"database_url", "ONECOUNT_DATABASE_URL", SECRET(database_url),
     "PostgreSQL connection string for the application role (owns no table)"},
    {"migrate_database_url", "ONECOUNT_MIGRATE_DATABASE_URL", SECRET(migrate_database_url),
     "PostgreSQL connection string for the schema owner, used by `migrate` (defaults to database_url)"},
    {"redis_url", "ONECOUNT_REDIS_URL", STR(redis_url), "Redis address: redis://host:port[/db] or unix:/path"},
    {"listen", "ONECOUNT_LISTEN", OC_CFG_LISTEN, "127.0.0.1:8080", 0, 0, NULL, 0, offsetof(oc_config_t, listen),
     "address the HTTP server binds, host:port (port 0 = any free port)"},
    {"data_dir", "ONECOUNT_DATA_DIR", STR(data_dir), "folder for local state: keys, logs, embedded services"},
    {"web_dir", "ONECOUNT_WEB_DIR", STR(web_dir), "folder of the static web console"},
    {"migrations_dir", "ONECOUNT_MIGRATIONS_DIR", STR(migrations_dir), "folder of NNNN_*.sql migrations"},
    {"threads", "ONECOUNT_THREADS", INT(threads, "0", 0, 256), "event-loop threads (0 = one per core)"},
    {"log_level", "ONECOUNT_LOG_LEVEL", OC_CFG_ENUM, "info", 0, 0, log_levels, 0, offsetof(oc_config_t, log_level),
     "least severe level logged"},
    {"db_pool_size", "ONECOUNT_DB_POOL_SIZE", INT(db_pool_size, "4", 1, 64),
     "PostgreSQL connections per event-loop thread"},
    {"db_queue_max", "ONECOUNT_DB_QUEUE_MAX", INT(db_queue_max, "4096", 1, 1000000),
     "queries waiting for a connection per thread before new ones get 503"},
    {"db_query_timeout_ms", "ONECOUNT_DB_QUERY_TIMEOUT_MS", INT(db_query_timeout_ms, "5000", 10, 600000),
     "time limit for one database round trip"},
    {"redis_timeout_ms", "ONECOUNT_REDIS_TIMEOUT_MS", INT(redis_timeout_ms, "1000", 10, 60000),
     "time limit for one Redis command"},
    {"max_body_bytes", "ONECOUNT_MAX_BODY_BYTES", INT(max_body_bytes, "1048576", 1024, 67108864),
     "largest JSON request body (larger gets 413)"},
    {"max_upload_bytes", "ONECOUNT_MAX_UPLOAD_BYTES", INT(max_upload_bytes, "33554432", 1024, 1073741824),
     "largest CSV upload (larger gets 413)"},
    {"max_export_bytes", "ONECOUNT_MAX_EXPORT_BYTES", INT(max_export_bytes, "67108864", 65536, 1073741824),
     "largest CSV export built in memory (larger gets 422: narrow it)"},
    {"import_timeout_ms", "ONECOUNT_IMPORT_TIMEOUT_MS", INT(import_timeout_ms, "300000", 1000, 3600000),
     "time limit for the one transaction that applies an import"},
    {"shutdown_timeout_ms", "ONECOUNT_SHUTDOWN_TIMEOUT_MS", INT(shutdown_timeout_ms, "10000", 0, 600000),
     "how long graceful shutdown waits for in-flight requests"},
    {"work_threads", "ONECOUNT_WORK_THREADS", INT(work_threads, "2", 1, 64),
     "threads for CPU-heavy work such as password hashing"},
    {"master_key", "ONECOUNT_MASTER_KEY", SECRET(master_key), "key-encryption key for the credential vault (base64)"},
    {"master_key_file", "ONECOUNT_MASTER_KEY_FILE", STR(master_key_file),
     "file holding the key-encryption key(s); default <data_dir>/master.key"},
    {"session_idle_minutes", "ONECOUNT_SESSION_IDLE_MINUTES", INT(session_idle_minutes, "120", 1, 100000),
     "a browser session ends after this long without use"},
    {"session_max_hours", "ONECOUNT_SESSION_MAX_HOURS", INT(session_max_hours, "24", 1, 10000),
     "a browser session ends this long after login, used or not"},
    {"cookie_secure", "ONECOUNT_COOKIE_SECURE", INT(cookie_secure, "0", 0, 1),
     "1 = always mark session cookies Secure (set it behind a TLS proxy)"},
    {"port_file", "ONECOUNT_PORT_FILE", STR(port_file), "when set, `serve` writes the port it bound to this file"},
    {"trusted_proxies", "ONECOUNT_TRUSTED_PROXIES", STR(trusted_proxies),
     "reverse proxies (CIDR blocks or addresses, comma-separated) whose X-Forwarded-For names the client; empty = "
     "none: the peer is the client"},
    {"metrics_listen", "ONECOUNT_METRICS_LISTEN", STR(metrics_listen),
     "address of `serve`'s own Prometheus listener (GET /metrics), host:port, or off"},
    {"metrics_port_file", "ONECOUNT_METRICS_PORT_FILE", STR(metrics_port_file),
     "when set, `serve` writes the port of its metrics listener to this file"},
    {"metrics_token", "ONECOUNT_METRICS_TOKEN", SECRET(metrics_token),
     "when set, the metrics listener asks for Authorization: Bearer <this>"},
    {"metrics_top_connections", "ONECOUNT_METRICS_TOP_CONNECTIONS", INT(metrics_top_connections, "10", 0, 1000),
     "connections (the furthest behind) that get series of their own in /metrics; the rest count in the totals"},
    {"worker_claim_limit", "ONECOUNT_WORKER_CLAIM_LIMIT", INT(worker_claim_limit, "200", 1, 10000),
     "listings the worker claims from one brand per turn (fairness between brands)"},
    {"worker_scan_ms", "ONECOUNT_WORKER_SCAN_MS", INT(worker_scan_ms, "1000", 50, 600000),
     "how often the worker scans for work no notification announced (retries whose backoff ended)"},
    {"worker_routines_max", "ONECOUNT_WORKER_ROUTINES_MAX", INT(worker_routines_max, "32", 1, 10000),
     "scheduled routine runs (polls, read-backs) the worker runs at once"},
    {"worker_pushes_max", "ONECOUNT_WORKER_PUSHES_MAX", INT(worker_pushes_max, "256", 1, 100000),
     "connections the worker pushes to at once"},
    {"worker_db_pool_size", "ONECOUNT_WORKER_DB_POOL_SIZE", INT(worker_db_pool_size, "8", 1, 256),
     "PostgreSQL connections of the worker (claims, results and routines run on them concurrently)"},
    {"worker_lease_seconds", "ONECOUNT_WORKER_LEASE_SECONDS", INT(worker_lease_seconds, "30", 2, 3600),
     "a claim lasts this long unless its worker renews it (a killed worker's claims are taken over after it)"},
    {"worker_push_spacing_ms", "ONECOUNT_WORKER_PUSH_SPACING_MS", INT(worker_push_spacing_ms, "400", 0, 60000),
     "a listing 3 or more changes behind that was pushed less than this ago waits (a SKU selling fast is pushed "
     "at this pace; 0 = never wait)"},
    {"worker_listen", "ONECOUNT_WORKER_LISTEN", STR(worker_listen),
     "address of the worker's /healthz, /readyz and /metrics, host:port (empty = 127.0.0.1:0: any free loopback "
     "port, logged and written to the port file)"},
    {"worker_port_file", "ONECOUNT_WORKER_PORT_FILE", STR(worker_port_file),
     "file the worker writes the port of its /metrics listener to (empty = <data_dir>/worker.port)"},
    {"stuck_after_seconds", "ONECOUNT_STUCK_AFTER_SECONDS", INT(stuck_after_seconds, "300", 1, 86400),
     "a listing behind its published quantity this long without a push getting through (failing, or never "
     "pushed) opens an alert for its connection"},
    {"stuck_check_seconds", "ONECOUNT_STUCK_CHECK_SECONDS", INT(stuck_check_seconds, "30", 1, 3600),
     "how often one worker looks for such listings and opens or closes those alerts"},
    {"exceptions_check_seconds", "ONECOUNT_EXCEPTIONS_CHECK_SECONDS", INT(exceptions_check_seconds, "15", 1, 3600),
     "how often one worker brings the exception queue in line with the state it describes (items open and close "
     "themselves at this pace; a brand is looked at when something its items read changed, or a time it waited "
     "for came)"},
    {"exceptions_full_seconds", "ONECOUNT_EXCEPTIONS_FULL_SECONDS", INT(exceptions_full_seconds, "600", 10, 86400),
     "a brand whose exception items were not brought in line for this long is, changed or not (the words that "
     "say how long something has lasted, and the 30-day figures of its health)"},
    {"prune_interval_seconds", "ONECOUNT_PRUNE_INTERVAL_SECONDS", INT(prune_interval_seconds, "3600", 10, 604800),
     "how often one worker deletes log rows older than their retention window"},
    {"prune_batch_rows", "ONECOUNT_PRUNE_BATCH_ROWS", INT(prune_batch_rows, "1000", 1, 100000),
     "rows one pruning statement deletes at most (short statements, short locks)"},
    {"retention_push_log_days", "ONECOUNT_RETENTION_PUSH_LOG_DAYS", INT(retention_push_log_days, "30", 1, 3650),
     "push log rows (what each channel was sent and answered; SKU timelines) are kept this long"},
    {"retention_channel_events_days", "ONECOUNT_RETENTION_CHANNEL_EVENTS_DAYS",
     INT(retention_channel_events_days, "7", 1, 3650), "processed webhook events are kept this long"},
    {"retention_drift_events_days", "ONECOUNT_RETENTION_DRIFT_EVENTS_DAYS",
     INT(retention_drift_events_days, "30", 1, 3650),
     "drift found by read-backs, and routine runs, are kept this long"},
    {"retention_exceptions_days", "ONECOUNT_RETENTION_EXCEPTIONS_DAYS", INT(retention_exceptions_days, "90", 30, 3650),
     "exception items that closed are kept this long with their history (the queue shows the last 30 days')"},
    {"retention_idempotency_hours", "ONECOUNT_RETENTION_IDEMPOTENCY_HOURS",
     INT(retention_idempotency_hours, "24", 24, 8760),
     "Idempotency-Key answers are kept this long (they are honoured for 24 hours)"},
    {"smtp_url", "ONECOUNT_SMTP_URL", STR(smtp_url),
     "SMTP relay for e-mail (notifications, digests, invitations): smtp://host:port or smtps://host:port; empty ="
     " no e-mail"},
    {"smtp_from", "ONECOUNT_SMTP_FROM", STR(smtp_from), "the sender address of onecount's e-mail"},
    {"smtp_user", "ONECOUNT_SMTP_USER", STR(smtp_user), "user name for the SMTP relay (empty: no authentication)"},
    {"smtp_password", "ONECOUNT_SMTP_PASSWORD", SECRET(smtp_password), "password for the SMTP relay"},
    {"public_url", "ONECOUNT_PUBLIC_URL", STR(public_url),
     "the console's address as people reach it (links in e-mail), e.g. https://onecount.example.com; empty ="
     " http://<listen>"},
    {"notify_poll_ms", "ONECOUNT_NOTIFY_POLL_MS", INT(notify_poll_ms, "1000", 50, 60000),
     "how often the worker looks for notifications due (retries, digests) besides being woken"},
    {"notify_in_flight", "ONECOUNT_NOTIFY_IN_FLIGHT", INT(notify_in_flight, "16", 1, 256),
     "webhook and e-mail deliveries one worker has in flight"},
};
const size_t oc_config_options_count = OC_ARRAY_SIZE(oc_config_options);

static const char *default_for(const oc_cfg_option_t *o)
{
    if (o->type == OC_CFG_INT || o->type == OC_CFG_ENUM || o->type == OC_CFG_LISTEN)
        return o->def;
    if (strcmp(o->name, "database_url") == 0)
        return "postgresql://onecount_app@127.0.0.1:5432/onecount";
    if (strcmp(o->name, "redis_url") == 0)
        return "redis://127.0.0.1:6379/0";
    if (strcmp(o->name, "data_dir") == 0)
        return "data";
    if (strcmp(o->name, "web_dir") == 0)
        return "web";
    if (strcmp(o->name, "migrations_dir") == 0)
        return "migrations";
    if (strcmp(o->name, "metrics_listen") == 0)
        return "127.0.0.1:9464";
    return "";
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

/* Values from the config file, kept until the environment has been applied. */
typedef struct {
    const oc_cfg_option_t *opt;
    char *value;
} file_value_t;

static int read_file(const char *path, file_value_t *vals, FILE *errout)
{
    FILE *fp = fopen(path, "r");
    if (fp == NULL) {
        fprintf(errout, "config: cannot open ONECOUNT_CONFIG_FILE \"%s\": %s\n", path, strerror(errno));
        return 1;
    }
    char line[4096];
    int bad = 0, lineno = 0;
    while (fgets(line, sizeof(line), fp) != NULL) {
        lineno++;
        char *s = trim(line);
        if (*s == '\0' || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (eq == NULL) {
            fprintf(errout, "config: %s:%d: expected `name = value`\n", path, lineno);
            bad++;
            continue;
        }
        *eq = '\0';
        char *name = trim(s), *value = trim(eq + 1);
        size_t i;
        for (i = 0; i < oc_config_options_count; i++)
            if (strcmp(oc_config_options[i].name, name) == 0)
                break;
        if (i == oc_config_options_count) {
            fprintf(errout, "config: %s:%d: unknown option \"%s\"\n", path, lineno, name);
            bad++;
            continue;
        }
        free(vals[i].value);
        vals[i].opt = &oc_config_options[i];
        vals[i].value = oc_strdup(value);
    }
    fclose(fp);
    return bad;
}

int oc_config_parse_listen(const char *s, char **host, int *port)
{
    const char *colon;
    size_t hlen;
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (rb == NULL || rb[1] != ':')
            return OC_EINVAL;
        colon = rb + 1;
        s++;
        hlen = (size_t)(rb - s);
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL)
            return OC_EINVAL;
        hlen = (size_t)(colon - s);
    }
    if (hlen == 0)
        return OC_EINVAL;
    char *end;
    errno = 0;
    long p = strtol(colon + 1, &end, 10);
    if (errno != 0 || end == colon + 1 || *end != '\0' || p < 0 || p > 65535)
        return OC_EINVAL;
    *host = oc_strndup(s, hlen);
    *port = (int)p;
    return 0;
}

static int apply(oc_config_t *cfg, const oc_cfg_option_t *o, const char *value, const char *source, FILE *errout)
{
    void *slot = (char *)cfg + o->offset;
    const char *shown = o->secret ? "(secret)" : value;
    switch (o->type) {
    case OC_CFG_STRING:
        free(*(char **)slot);
        *(char **)slot = oc_strdup(value);
        return 0;
    case OC_CFG_INT: {
        char *end;
        errno = 0;
        long v = strtol(value, &end, 10);
        if (errno != 0 || end == value || *end != '\0') {
            fprintf(errout, "config: %s (%s) = \"%s\": not an integer\n", o->env, source, shown);
            return 1;
        }
        if (v < o->min || v > o->max) {
            fprintf(errout, "config: %s (%s) = %ld: out of range %ld..%ld\n", o->env, source, v, o->min, o->max);
            return 1;
        }
        *(int *)slot = (int)v;
        return 0;
    }
    case OC_CFG_ENUM:
        for (const char *const *e = o->enums; *e != NULL; e++) {
            if (strcmp(*e, value) == 0) {
                free(*(char **)slot);
                *(char **)slot = oc_strdup(value);
                return 0;
            }
        }
        fprintf(errout, "config: %s (%s) = \"%s\": must be one of", o->env, source, shown);
        for (const char *const *e = o->enums; *e != NULL; e++)
            fprintf(errout, " %s", *e);
        fputc('\n', errout);
        return 1;
    case OC_CFG_LISTEN: {
        char *host = NULL;
        int port;
        if (oc_config_parse_listen(value, &host, &port) != 0) {
            fprintf(errout, "config: %s (%s) = \"%s\": expected host:port with port 0..65535\n", o->env, source, shown);
            return 1;
        }
        free(*(char **)slot);
        *(char **)slot = oc_strdup(value);
        free(cfg->listen_host);
        cfg->listen_host = host;
        cfg->listen_port = port;
        return 0;
    }
    }
    return 1;
}

int oc_config_load(oc_config_t *cfg, const char *(*getenv_fn)(const char *), FILE *errout)
{
    if (getenv_fn == NULL)
        getenv_fn = (const char *(*)(const char *))getenv;
    memset(cfg, 0, sizeof(*cfg));
    int bad = 0;
    file_value_t vals[OC_ARRAY_SIZE(oc_config_options)] = {{0}};
    const char *file = getenv_fn("ONECOUNT_CONFIG_FILE");
    if (file != NULL && *file != '\0')
        bad += read_file(file, vals, errout);
    for (size_t i = 0; i < oc_config_options_count; i++) {
        const oc_cfg_option_t *o = &oc_config_options[i];
        const char *env = getenv_fn(o->env);
        if (env != NULL)
            bad += apply(cfg, o, env, "environment", errout);
        else if (vals[i].value != NULL)
            bad += apply(cfg, o, vals[i].value, "config file", errout);
        else
            bad += apply(cfg, o, default_for(o), "default", errout);
        free(vals[i].value);
    }
    if (bad == 0 && cfg->migrate_database_url[0] == '\0') {
        free(cfg->migrate_database_url);
        cfg->migrate_database_url = oc_strdup(cfg->database_url);
    }
    if (bad == 0 && cfg->smtp_url[0] != '\0' && strncmp(cfg->smtp_url, "smtp://", 7) != 0 &&
        strncmp(cfg->smtp_url, "smtps://", 8) != 0) {
        fprintf(errout, "config: ONECOUNT_SMTP_URL: expected smtp://host:port or smtps://host:port\n");
        bad++;
    }
    if (bad == 0 && cfg->smtp_url[0] != '\0' && strchr(cfg->smtp_from, '@') == NULL) {
        fprintf(errout, "config: ONECOUNT_SMTP_FROM = \"%s\": an e-mail address is needed with ONECOUNT_SMTP_URL\n",
                cfg->smtp_from);
        bad++;
    }
    if (bad == 0 && strncmp(cfg->redis_url, "redis://", 8) != 0 && strncmp(cfg->redis_url, "unix:", 5) != 0) {
        fprintf(errout, "config: ONECOUNT_REDIS_URL = \"%s\": expected redis://host:port[/db] or unix:/path\n",
                cfg->redis_url);
        bad++;
    }
    if (bad == 0) {
        oc_cidr_t cidrs[OC_CIDR_MAX];
        char why[160];
        if (oc_cidr_parse_list(cfg->trusted_proxies, cidrs, OC_CIDR_MAX, why, sizeof(why)) < 0) {
            fprintf(errout, "config: ONECOUNT_TRUSTED_PROXIES: %s\n", why);
            bad++;
        }
        char *host = NULL;
        int port;
        if (strcmp(cfg->metrics_listen, "off") != 0 && oc_config_parse_listen(cfg->metrics_listen, &host, &port) != 0) {
            fprintf(errout, "config: ONECOUNT_METRICS_LISTEN = \"%s\": expected host:port or off\n",
                    cfg->metrics_listen);
            bad++;
        }
        free(host);
    }
    return bad;
}

void oc_config_free(oc_config_t *cfg)
{
    for (size_t i = 0; i < oc_config_options_count; i++) {
        const oc_cfg_option_t *o = &oc_config_options[i];
        if (o->type != OC_CFG_INT) {
            char **slot = (char **)((char *)cfg + o->offset);
            free(*slot);
            *slot = NULL;
        }
    }
    free(cfg->listen_host);
    cfg->listen_host = NULL;
}

void oc_config_print_help(FILE *out)
{
    fprintf(out, "Configuration (environment variable, or `name = value` in the file named by "
                 "ONECOUNT_CONFIG_FILE; the environment wins):\n\n");
    for (size_t i = 0; i < oc_config_options_count; i++) {
        const oc_cfg_option_t *o = &oc_config_options[i];
        fprintf(out, "  %-32s %s\n", o->env, o->help);
        const char *def = default_for(o);
        if (o->secret)
            fprintf(out, "  %-32s secret; default: %s\n", "", *def ? "(built in)" : "(none)");
        else if (o->type == OC_CFG_INT)
            fprintf(out, "  %-32s default: %s, range %ld..%ld\n", "", def, o->min, o->max);
        else
            fprintf(out, "  %-32s default: %s\n", "", *def ? def : "(none)");
    }
}
