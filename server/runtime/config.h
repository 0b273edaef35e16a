/*
 * config.h — the configuration table.
 *
 * Every option is one row of a declarative table (name, environment variable,
 * type, default, bounds, secret flag, help).  Values come from, in rising
 * precedence: the defaults, the file named by ONECOUNT_CONFIG_FILE (lines of
 * `name = value`), and the environment.  oc_config_load() validates every
 * option and reports every bad one before failing.  Secret values are never
 * printed; `--help` lists the table.
 */
#ifndef OC_CONFIG_H
#define OC_CONFIG_H

#include <stdio.h>

typedef enum { OC_CFG_STRING, OC_CFG_INT, OC_CFG_ENUM, OC_CFG_LISTEN } oc_cfg_type_t;

typedef struct oc_config {
    char *database_url;         /* application role: owns no table */
    char *migrate_database_url; /* owner role used by `migrate` */
    char *redis_url;
    char *listen;      /* host:port */
    char *listen_host; /* parsed from listen */
    int listen_port;   /* parsed from listen; 0 = any free port */
    char *data_dir;
    char *web_dir;
    char *migrations_dir;
    int threads; /* 0 = number of cores */
    char *log_level;
    int db_pool_size;
    int db_queue_max;
    int db_query_timeout_ms;
    int redis_timeout_ms;
    int max_body_bytes;
    int max_upload_bytes;
    int max_export_bytes;
    int import_timeout_ms;
    int shutdown_timeout_ms;
    int work_threads;
    char *master_key;      /* base64 key-encryption key (secret) */
    char *master_key_file; /* file holding it */
    int session_idle_minutes;
    int session_max_hours;
    int cookie_secure;          /* 0 = decide by scheme, 1 = always */
    char *port_file;            /* when set, `serve` writes the bound port here */
    int worker_claim_limit;     /* listings one push claim takes from one brand */
    int worker_scan_ms;         /* how often the worker looks for work nobody notified */
    int worker_routines_max;    /* routine runs in flight */
    int worker_pushes_max;      /* connection push batches in flight */
    int worker_lease_seconds;   /* how long a claim lasts without renewal */
    int worker_push_spacing_ms; /* a hot listing's pushes at most this often */
    int worker_db_pool_size;    /* the worker's PostgreSQL connections */

    char *trusted_proxies;        /* CIDR list: peers whose X-Forwarded-For is believed */
    char *metrics_listen;         /* host:port of serve's metrics listener, or "off" */
    char *metrics_port_file;      /* when set, serve writes its metrics listener's port here */
    char *metrics_token;          /* bearer token the metrics listener asks for (secret), or "" */
    int metrics_top_connections;  /* connections with series of their own in /metrics */
    char *worker_listen;          /* the worker's ops listener, host:port ("" = 127.0.0.1:0) */
    char *worker_port_file;       /* where the worker writes that port ("" = <data_dir>/worker.port) */
    int stuck_after_seconds;      /* a listing behind this long opens an alert */
    int stuck_check_seconds;      /* how often the worker looks for such listings */
    int exceptions_check_seconds; /* how often the worker refreshes the exception queue */
    int exceptions_full_seconds;  /* a brand unchanged this long is refreshed anyway */
    int prune_interval_seconds;   /* how often old log rows are pruned */
    int prune_batch_rows;         /* rows one pruning statement deletes at most */
    int retention_push_log_days;
    int retention_channel_events_days;
    int retention_drift_events_days;
    int retention_exceptions_days;
    int retention_idempotency_hours;
    char *smtp_url;      /* the SMTP relay; "" = no e-mail */
    char *smtp_from;     /* sender address */
    char *smtp_user;     /* "" = no authentication */
    char *smtp_password; /* secret */
    char *public_url;    /* the console's address in e-mailed links; "" = http://<listen> */
    int notify_poll_ms;  /* the worker's look for due notifications */
    int notify_in_flight;
} oc_config_t;

typedef struct oc_cfg_option {
    const char *name;
    const char *env;
    oc_cfg_type_t type;
    const char *def;
    long min, max;            /* OC_CFG_INT bounds */
    const char *const *enums; /* OC_CFG_ENUM choices, NULL-terminated */
    int secret;
    size_t offset;
    const char *help;
} oc_cfg_option_t;

/** The process-wide configuration, filled by oc_config_load(). */
extern oc_config_t oc_config;

/** The table itself and its row count (for --help and tests). */
extern const oc_cfg_option_t oc_config_options[];
extern const size_t oc_config_options_count;

/**
 * Loads defaults, the optional file and the environment into `cfg`, checking
 * every option.  `getenv_fn` lets tests supply their own environment (NULL =
 * getenv).  On failure writes one line per bad option to `errout` and returns
 * the number of bad options (> 0); returns 0 on success.
 */
int oc_config_load(oc_config_t *cfg, const char *(*getenv_fn)(const char *), FILE *errout);

/** Releases the strings held by `cfg`. */
void oc_config_free(oc_config_t *cfg);

/** Prints the table (name, variable, default, bounds, help) to `out`. */
void oc_config_print_help(FILE *out);

/** Parses "host:port" / "[v6]:port"; returns 0 and fills host (malloc'd) and port, or OC_EINVAL. */
int oc_config_parse_listen(const char *s, char **host, int *port);

#endif
