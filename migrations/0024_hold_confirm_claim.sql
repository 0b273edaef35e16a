-- 0024_hold_confirm_claim.sql — confirming a hold claims its Idempotency-Key
-- the way every ledger request does.
--
-- hold_confirm() (0017) claimed the key and mapped the claim to its answer
-- (a replay, or in_flight / mismatch refused) with its own copy of what
-- ledger_claim() (0022) now does for ledger_post() and ledger_sale().  It
-- calls ledger_claim() instead: one answer for a key, whichever request
-- carries it.  It still claims before reading the hold, so a confirm retried
-- after it succeeded answers the stored sale, not "hold … is confirmed".
CREATE OR REPLACE FUNCTION hold_confirm(p_tenant uuid, p_id uuid, p_key text, p_hash text, p_user uuid,
                                        p_token uuid, p_request_id text) RETURNS jsonb
    LANGUAGE plpgsql AS $$
DECLARE
    h holds%ROWTYPE;
    sale jsonb;
    claimed jsonb;
BEGIN
    claimed := ledger_claim(p_tenant, p_key, p_hash);
    IF claimed IS NOT NULL THEN
        RETURN claimed;
    END IF;
    SELECT * INTO h FROM holds WHERE tenant_id = p_tenant AND id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN ledger_err(404, 'not_found', 'no such hold');
    ELSIF h.state <> 'active' THEN
        RETURN ledger_err(409, 'hold_ended', format('hold %s is %s', p_id, h.state));
    ELSIF h.expires_at <= now() THEN
        RETURN ledger_err(409, 'hold_ended', format('hold %s has expired', p_id));
    END IF;
    PERFORM stock_add_held_brands(array_fill(p_tenant, ARRAY[jsonb_array_length(h.lines)]),
                                  ARRAY(SELECT (l->>'sku_id')::bigint FROM jsonb_array_elements(h.lines) AS l),
                                  ARRAY(SELECT -(l->>'qty')::bigint FROM jsonb_array_elements(h.lines) AS l));
    UPDATE holds SET state = 'confirmed', ended_at = now() WHERE tenant_id = p_tenant AND id = p_id;
    sale := ledger_post(jsonb_build_array(jsonb_build_object('tenant', p_tenant, 'key', p_key, 'hash', p_hash,
        'user', p_user, 'token', p_token, 'request_id', p_request_id, 'kind', 'sale', 'guard', true,
        'lines', h.request, 'reference', coalesce(h.reference, 'hold:' || p_id))))->0;
    IF (sale->>'status')::int = 409 THEN
        RAISE EXCEPTION '%', sale->'body'->'error'->>'message' USING ERRCODE = 'OC409';
    END IF;
    RETURN sale;
END $$;
