/*
 * api.h — the handlers named in the route table (server/routes.c).  Each
 * resource lives in its own server/api_<resource>.c.
 */
#ifndef OC_API_H
#define OC_API_H

#include "server/http.h"

/* api_health.c */
void oc_api_healthz(oc_req_t *r);
void oc_api_readyz(oc_req_t *r);
void oc_api_metrics(oc_req_t *r);
void oc_api_index(oc_req_t *r);

#endif
