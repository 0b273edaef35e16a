-- 0021_read_back_not_applied.sql — a push the channel accepted and never
-- applied was "pending_apply" for ever.
--
-- Amazon (and Walmart feeds) accept a quantity and apply it later, so a
-- read-back that sees another number while the push is pending waits.  When
-- the channel never applies it (or applies it and its number moves on
-- before a read-back sees it), 0006's read_back_record() waited for ever:
-- the listing stayed "in sync" with a drift no one would heal.  Now a
-- pending push counts as pending only within three times the connection's
-- measured push lag (at least 15 minutes); after that the read-back records
-- a `not_applied` drift and pushes the number again.

ALTER TABLE drift_events DROP CONSTRAINT drift_events_classification_check;
ALTER TABLE drift_events ADD CONSTRAINT drift_events_classification_check CHECK (classification IN
    ('stale_push', 'channel_edit', 'unmapped_listing', 'order_not_ingested', 'in_flight', 'pending_apply', 'not_applied'));

CREATE OR REPLACE FUNCTION read_back_record(p_tenant uuid, p_connection uuid, p_results jsonb) RETURNS jsonb
    LANGUAGE plpgsql AS $$
DECLARE
    x jsonb;
    l listings%ROWTYPE;
    seen bigint;
    cls text;
    act text;
    n_ok int := 0;
    n_drift int := 0;
    poll boolean := false;
    apply_window interval;
BEGIN
    -- How long a channel may take to apply a push it accepted: three times
    -- what it has been taking, and never less than 15 minutes.
    SELECT greatest(interval '15 minutes', make_interval(secs => coalesce(c.push_lag_ms, 0) * 3 / 1000.0))
      INTO apply_window FROM channel_connections c WHERE c.tenant_id = p_tenant AND c.id = p_connection;
    FOR x IN SELECT value FROM jsonb_array_elements(p_results) ORDER BY value->>'listing_id' LOOP
        SELECT * INTO l FROM listings WHERE tenant_id = p_tenant AND id = (x->>'listing_id')::uuid FOR UPDATE;
        CONTINUE WHEN NOT FOUND;
        seen := (x->>'qty')::bigint;
        UPDATE listings SET seen_qty = seen, seen_at = now() WHERE tenant_id = p_tenant AND id = l.id;
        IF seen IS NOT DISTINCT FROM l.pushed_qty THEN
            n_ok := n_ok + 1;
            IF l.push_pending THEN
                -- the channel has applied it: how long that took is part of its lag
                UPDATE listings SET push_pending = false WHERE tenant_id = p_tenant AND id = l.id;
                UPDATE channel_connections SET push_lag_ms = CASE WHEN push_lag_ms IS NULL
                        THEN (extract(epoch FROM now() - l.pushed_at) * 1000)::bigint
                        ELSE (push_lag_ms * 0.8 + extract(epoch FROM now() - l.pushed_at) * 1000 * 0.2)::bigint END
                 WHERE tenant_id = p_tenant AND id = p_connection;
            END IF;
            UPDATE drift_events SET healed_at = now()
             WHERE tenant_id = p_tenant AND listing_id = l.id AND healed_at IS NULL;
            CONTINUE;
        END IF;
        IF seen IS NULL THEN
            cls := 'unmapped_listing'; act := 'none';
        ELSIF l.push_pending AND l.pushed_at > now() - apply_window THEN
            cls := 'pending_apply'; act := 'none';
        ELSIF l.push_pending THEN
            -- accepted, never applied (or applied and changed since): waiting longer heals nothing
            cls := 'not_applied'; act := 'repush';
            UPDATE listings SET desired_version = desired_version + 1, push_pending = false, last_error = NULL
             WHERE tenant_id = p_tenant AND id = l.id;
        ELSIF l.desired_version > l.pushed_version THEN
            cls := 'in_flight'; act := 'none';
        ELSIF seen < coalesce(l.pushed_qty, 0) THEN
            cls := 'order_not_ingested'; act := 'ingest_orders'; poll := true;
            -- once orders are in, push the number again regardless
            UPDATE listings SET desired_version = desired_version + 1 WHERE tenant_id = p_tenant AND id = l.id;
        ELSE
            cls := 'channel_edit'; act := 'repush';
            UPDATE listings SET desired_version = desired_version + 1, last_error = NULL
             WHERE tenant_id = p_tenant AND id = l.id;
        END IF;
        IF cls NOT IN ('pending_apply', 'in_flight') THEN
            n_drift := n_drift + 1;
            INSERT INTO drift_events (tenant_id, listing_id, connection_id, sku_id, seen_qty, pushed_qty, desired_qty,
                                      classification, action)
            VALUES (p_tenant, l.id, p_connection, l.sku_id, seen, l.pushed_qty, l.desired_qty, cls, act);
            IF cls = 'unmapped_listing' THEN
                INSERT INTO alerts (tenant_id, connection_id, kind, message)
                VALUES (p_tenant, p_connection, 'unmapped_listing',
                        'the channel does not know listing ' || l.external_sku) ON CONFLICT DO NOTHING;
            END IF;
        END IF;
    END LOOP;
    IF poll THEN
        UPDATE routines SET next_run_at = least(next_run_at, now())
         WHERE tenant_id = p_tenant AND connection_id = p_connection AND kind = 'poll_orders';
    END IF;
    IF n_drift > 0 THEN
        PERFORM pg_notify('oc_dirty', p_tenant::text);
    END IF;
    RETURN jsonb_build_object('in_sync', n_ok, 'drift', n_drift);
END $$;
