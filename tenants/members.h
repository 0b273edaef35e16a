/*
 * members.h — who may act in a portfolio: members of a brand and of the
 * portfolio, their roles, disabling and enabling accounts; invitations
 * (and accepting one); API tokens for programs.
 *
 * Invitations and API tokens are one mechanism, a grant: a role handed out
 * with a random secret (identity.h) that is shown once in the creation's
 * answer and stored as SHA-256; listed newest first, never with the secret;
 * revocable, revoking twice answering the same and audited once.  A grant
 * made while acting in a brand (a->tenant set) is audited in the brand's
 * log, else in the portfolio's.
 *
 * Operations answer through oc_query_cb (query.h).  The caller checks the
 * input's form and that the actor may grant the role; what depends on
 * stored state (a member's current role, an e-mail's account) is checked
 * here.
 */
#ifndef OC_MEMBERS_H
#define OC_MEMBERS_H

#include <sodium.h>

#include "tenants/audit.h"
#include "tenants/identity.h"
#include "tenants/query.h"
#include "tenants/roles.h"

/* --- members --- */

/** One page of the brand's members (its own and the portfolio's), by e-mail (cursor: lower(email), user id). */
void oc_members_brand_list(oc_thread_t *th, const char *portfolio, const char *brand_id, const oc_page_keys_t *pg,
                           oc_query_cb cb, void *arg);

/** One page of the portfolio's users with their memberships, by e-mail (same cursor). */
void oc_members_portfolio_list(oc_thread_t *th, const char *portfolio, const oc_page_keys_t *pg, oc_query_cb cb,
                               void *arg);

/**
 * Changes the role of member `uid` of brand a->tenant to `role`, or removes
 * the member when `role` is OC_ROLE_NONE; audited with the role before and
 * after.  Refuses a member whose current role `actor_role` could not grant
 * (forbidden) and a change of one's own role below portfolio admin
 * (conflict).  Answers {"user_id","brand_id","role"}, or JSON null for a
 * removal; "no such member of this brand".
 */
void oc_members_change(oc_thread_t *th, const oc_actor_t *a, oc_role_t actor_role, const char *uid, oc_role_t role,
                       oc_query_cb cb, void *arg);

/**
 * Disables (and signs out) or enables user `uid` of a->portfolio, audited
 * when it changes.  Refuses to disable oneself (conflict).  Answers
 * {"user_id","disabled"}; "no such user".
 */
void oc_members_set_disabled(oc_thread_t *th, const oc_actor_t *a, const char *uid, int disabled, oc_query_cb cb,
                             void *arg);

/* --- grants: invitations and API tokens --- */

typedef enum {
    OC_GRANT_INVITATION, /* of a person, by e-mail: accepted once (oc_invitations_find and after) */
    OC_GRANT_TOKEN,      /* of a program, by name: the API token itself */
} oc_grant_kind_t;

/**
 * Grants `role` in `brand_id` (NULL: the whole portfolio, for a portfolio
 * admin invitation or a portfolio token) to `label` — an invitation's e-mail
 * or a token's name.  Answers the grant with its "token" (an invitation also
 * with its "accept_url"); an invitation is a conflict on "email" when the
 * address belongs to an account outside the portfolio or a disabled one, or
 * the brand is not in it.
 */
void oc_grants_create(oc_thread_t *th, oc_grant_kind_t kind, const oc_actor_t *a, const char *brand_id,
                      const char *label, oc_role_t role, oc_query_cb cb, void *arg);

/**
 * One page of the grants of `brand_id`, newest first (cursor: created_at,
 * id).  NULL: invitations of every brand of the portfolio, tokens of the
 * portfolio itself.
 */
void oc_grants_list(oc_thread_t *th, oc_grant_kind_t kind, const char *portfolio, const char *brand_id,
                    const oc_page_keys_t *pg, oc_query_cb cb, void *arg);

/** Revokes grant `id` (of `brand_id` when set).  Answers it; "no such pending invitation" / "no such token". */
void oc_grants_revoke(oc_thread_t *th, oc_grant_kind_t kind, const oc_actor_t *a, const char *brand_id, const char *id,
                      oc_query_cb cb, void *arg);

/* --- accepting an invitation --- */

/** A pending invitation found by its token, with the account its e-mail already has (user_id "" when none). */
typedef struct oc_invitation_found {
    const char *id, *email;
    const char *user_id, *password_hash; /* the existing account's, else "" */
    int same_portfolio, disabled;        /* of the existing account */
} oc_invitation_found_t;

/** Called once on the loop thread: `inv` NULL when no pending invitation has the token (or on `f`). */
typedef void (*oc_invitation_cb)(void *arg, const oc_invitation_found_t *inv, const oc_fail_t *f);

/** Finds the pending, unexpired invitation whose token hashes to `token_hash` (hex). */
void oc_invitations_find(oc_thread_t *th, const char *token_hash, oc_invitation_cb cb, void *arg);

/** What accepting needs: the new account's password hash is NULL for an existing account. */
typedef struct oc_invitation_accept {
    const char *invitation_id, *user_id, *email, *name, *password_hash;
    const char *session_hash, *csrf, *session_hours, *remote_addr; /* the session it opens */
} oc_invitation_accept_t;

/**
 * Runs `tx` — the steps the caller put there first (the attempt's end, for
 * an existing account) — with the steps accepting the invitation (creating
 * the account when new, the membership, the audit) and opening a session
 * for the user.  Answers JSON true, or false when it was used, revoked or
 * expired meanwhile.
 */
void oc_invitations_accept(oc_thread_t *th, oc_db_tx_t *tx, const oc_invitation_accept_t *in, oc_query_cb cb,
                           void *arg);

#endif
