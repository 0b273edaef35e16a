-- 0038_exception_marks.sql — the exception queue's refresh looks only at the brands whose state changed.
--
-- The worker's `exceptions` job evaluated every condition of every brand every 15 s: about 11 ms a brand with
-- nothing changed, so most of a core at a thousand brands (docs/BENCHMARKS.md).  Now a brand is refreshed when
--   * something its conditions read changed: a trigger on each of those tables adds a row to
--     `exception_dirty` in the writer's own transaction (so the mark commits with the change, or not at all);
--   * a condition becomes true by the clock alone: each refresh keeps the earliest such moment in
--     brand_health.next_due (a listing behind becomes stuck, a drift becomes ten minutes old, a checklist step
--     falls due, a snooze ends, an authorization comes within 30 days of lapsing);
--   * its last refresh is older than p_full_s (the safety net, and the words that say "for 20 minutes");
--   * it was never refreshed.
-- A mark is a row of its own (its key is the brand and a number from a sequence), never an update of a
-- shared one: a writer only appends, so it never waits on another writer or on the refresh, and the refresh
-- deletes the marks its statement sees before it looks at the brands, so a change committed after that
-- delete keeps its mark for the next round.  They are few: the refresh empties the table every round.

CREATE TABLE exception_dirty (
    tenant_id uuid NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (tenant_id, id)
);
ALTER TABLE exception_dirty ENABLE ROW LEVEL SECURITY;
ALTER TABLE exception_dirty FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_wall ON exception_dirty USING (tenant_id = ANY ((SELECT current_tenants())::uuid[]))
    WITH CHECK (tenant_id = ANY ((SELECT current_tenants())::uuid[]));
GRANT SELECT, INSERT, DELETE ON exception_dirty TO onecount_app;

ALTER TABLE brand_health ADD COLUMN next_due timestamptz;

-- A statement's brands are marked: the rows it wrote (transition tables `newtab` / `oldtab`).
CREATE FUNCTION exception_mark_rows() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO exception_dirty (tenant_id) SELECT DISTINCT tenant_id FROM oldtab;
    ELSE
        INSERT INTO exception_dirty (tenant_id) SELECT DISTINCT tenant_id FROM newtab;
    END IF;
    RETURN NULL;
END $$;

-- One row's brand is marked (row triggers whose WHEN says the row changed in a way a condition reads).
CREATE FUNCTION exception_mark_row() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO exception_dirty (tenant_id) VALUES (CASE WHEN TG_OP = 'DELETE' THEN OLD.tenant_id ELSE NEW.tenant_id END);
    RETURN NULL;
END $$;

-- Tables whose every write may change a condition or the brand's health: marked per statement.
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['stock', 'listings', 'oversell_incidents', 'drift_events', 'skus', 'sku_velocity',
                             'checklist_items', 'alerts'] LOOP
        EXECUTE format('CREATE TRIGGER exception_mark_ins AFTER INSERT ON %I REFERENCING NEW TABLE AS newtab'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION exception_mark_rows()', t);
        EXECUTE format('CREATE TRIGGER exception_mark_upd AFTER UPDATE ON %I REFERENCING NEW TABLE AS newtab'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION exception_mark_rows()', t);
        EXECUTE format('CREATE TRIGGER exception_mark_del AFTER DELETE ON %I REFERENCING OLD TABLE AS oldtab'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION exception_mark_rows()', t);
    END LOOP;
END $$;

-- Tables written often in ways no condition reads: marked per row, when the columns that matter changed.
CREATE TRIGGER exception_mark_ins AFTER INSERT ON channel_order_lines FOR EACH ROW WHEN (NEW.sku_id IS NULL)
    EXECUTE FUNCTION exception_mark_row();
CREATE TRIGGER exception_mark_upd AFTER UPDATE ON channel_order_lines FOR EACH ROW
    WHEN (OLD.sku_id IS NULL OR NEW.sku_id IS NULL) EXECUTE FUNCTION exception_mark_row();
CREATE TRIGGER exception_mark_del AFTER DELETE ON channel_order_lines FOR EACH ROW WHEN (OLD.sku_id IS NULL)
    EXECUTE FUNCTION exception_mark_row();

CREATE TRIGGER exception_mark_ins AFTER INSERT ON channel_connections FOR EACH ROW
    EXECUTE FUNCTION exception_mark_row();
CREATE TRIGGER exception_mark_upd AFTER UPDATE ON channel_connections FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.status_detail IS DISTINCT FROM NEW.status_detail
          OR OLD.name IS DISTINCT FROM NEW.name OR OLD.kind IS DISTINCT FROM NEW.kind
          OR OLD.credentials_updated_at IS DISTINCT FROM NEW.credentials_updated_at
          OR OLD.push_lag_p99_ms IS DISTINCT FROM NEW.push_lag_p99_ms)
    EXECUTE FUNCTION exception_mark_row();
CREATE TRIGGER exception_mark_del AFTER DELETE ON channel_connections FOR EACH ROW
    EXECUTE FUNCTION exception_mark_row();

CREATE TRIGGER exception_mark_ins AFTER INSERT ON connection_health FOR EACH ROW
    EXECUTE FUNCTION exception_mark_row();
CREATE TRIGGER exception_mark_upd AFTER UPDATE ON connection_health FOR EACH ROW
    WHEN (OLD.circuit IS DISTINCT FROM NEW.circuit
          OR OLD.consecutive_failures IS DISTINCT FROM NEW.consecutive_failures
          OR OLD.last_error IS DISTINCT FROM NEW.last_error)
    EXECUTE FUNCTION exception_mark_row();

CREATE TRIGGER exception_mark_ins AFTER INSERT ON routines FOR EACH ROW EXECUTE FUNCTION exception_mark_row();
CREATE TRIGGER exception_mark_upd AFTER UPDATE ON routines FOR EACH ROW
    WHEN (OLD.last_status IS DISTINCT FROM NEW.last_status OR OLD.enabled IS DISTINCT FROM NEW.enabled
          OR OLD.in_sop IS DISTINCT FROM NEW.in_sop OR OLD.params IS DISTINCT FROM NEW.params
          OR OLD.title IS DISTINCT FROM NEW.title
          OR OLD.last_detail ->> 'error' IS DISTINCT FROM NEW.last_detail ->> 'error')
    EXECUTE FUNCTION exception_mark_row();
CREATE TRIGGER exception_mark_del AFTER DELETE ON routines FOR EACH ROW EXECUTE FUNCTION exception_mark_row();

-- A snooze set by a person: the refresh must know when it ends.
CREATE TRIGGER exception_mark_snooze AFTER UPDATE OF snoozed_until ON exceptions FOR EACH ROW
    WHEN (NEW.snoozed_until IS NOT NULL) EXECUTE FUNCTION exception_mark_row();

-- The earliest moment after now at which one of the brand's (the transaction's only tenant) conditions
-- becomes true, or its item's words change, by the clock alone; NULL when none is coming.
CREATE FUNCTION exceptions_next_due(p_brand uuid, p_stuck_s int) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
SELECT min(t) FROM (
    SELECT min(l.behind_since) + p_stuck_s * interval '1 second' AS t
      FROM listings l
     WHERE l.tenant_id = p_brand AND l.desired_version > l.pushed_version AND l.state = 'active'
       AND l.behind_since >= now() - p_stuck_s * interval '1 second'
    UNION ALL
    SELECT min(d.detected_at) + interval '10 minutes'
      FROM drift_events d
     WHERE d.tenant_id = p_brand AND d.healed_at IS NULL AND d.detected_at >= now() - interval '10 minutes'
    UNION ALL
    SELECT min(i.due_at) FROM checklist_items i
     WHERE i.tenant_id = p_brand AND i.state = 'open' AND i.due_at > now()
    UNION ALL
    SELECT min(e.snoozed_until) FROM exceptions e WHERE e.tenant_id = p_brand AND e.state = 'snoozed'
    UNION ALL
    SELECT min(c.credentials_updated_at + credentials_lifetime(c.kind) - interval '30 days')
      FROM channel_connections c
     WHERE c.tenant_id = p_brand AND credentials_lifetime(c.kind) IS NOT NULL
       AND c.credentials_updated_at + credentials_lifetime(c.kind) - interval '30 days' > now()
) x
$$;

DROP FUNCTION exceptions_refresh(int);

-- Brings the live items of the transaction's brands in line with their conditions, brand by brand (each
-- brand's statements with that brand alone as the tenant: see 0033), but only the brands that need it (the
-- head of this file).  p_full_s: a brand not refreshed for this long is refreshed whatever its marks say.
-- Returns what it did, how many brands it refreshed and skipped, and the items not resolved (live).
CREATE FUNCTION exceptions_refresh(p_stuck_s int, p_full_s int) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    all_tenants text := current_setting('app.tenant_id', true);
    brands uuid[] := current_tenants();
    marked uuid[];
    quiet uuid[];
    b uuid;
    n_skipped int := 0;
    n_refreshed int := 0;
    acc jsonb := '{"opened": 0, "changed": 0, "reopened": 0, "closed": 0, "snooze_ended": 0, "live": 0}';
BEGIN
    WITH d AS (DELETE FROM exception_dirty WHERE tenant_id = ANY (brands) RETURNING tenant_id)
    SELECT coalesce(array_agg(DISTINCT tenant_id), '{}') INTO marked FROM d;
    SELECT coalesce(array_agg(h.tenant_id), '{}') INTO quiet
      FROM brand_health h
     WHERE h.tenant_id = ANY (brands) AND h.refreshed_at > now() - p_full_s * interval '1 second'
       AND (h.next_due IS NULL OR h.next_due > now()) AND NOT h.tenant_id = ANY (marked);
    FOREACH b IN ARRAY brands LOOP
        IF b = ANY (quiet) THEN
            n_skipped := n_skipped + 1;
            CONTINUE;
        END IF;
        PERFORM set_config('app.tenant_id', b::text, true);
        acc := exceptions_refresh_brand(b, p_stuck_s, acc);
        -- the brand's health row exceptions_refresh_brand (0033) just wrote: when to look again by the clock
        UPDATE brand_health SET next_due = exceptions_next_due(b, p_stuck_s) WHERE tenant_id = b;
        n_refreshed := n_refreshed + 1;
    END LOOP;
    PERFORM set_config('app.tenant_id', coalesce(all_tenants, ''), true);
    -- live: the items not resolved in all the chunk's brands, refreshed or not
    RETURN acc || jsonb_build_object('refreshed', n_refreshed, 'skipped', n_skipped,
        'live', (SELECT coalesce(sum(n), 0) FROM exception_counts WHERE tenant_id = ANY (brands) AND state <> 'resolved'));
END $$;
