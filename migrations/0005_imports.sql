-- 0005_imports.sql — CSV imports and exports: one job per uploaded file,
-- with its progress and every bad row; the CSV helpers exports use.
--
-- A job is created when the file is accepted ('validating').  rows_done
-- counts the rows checked against the brand, then, for a real run, the rows
-- applied ('applying'); the job ends 'done' or 'failed'.  A real run writes
-- its rows and the job's 'done' in one transaction, so a job that is not
-- 'done' has applied nothing.  A dry run writes nothing but its job.

CREATE TABLE import_jobs (
    tenant_id uuid NOT NULL REFERENCES brands (id),
    id uuid NOT NULL,
    type text NOT NULL CHECK (type IN ('skus', 'bundles', 'counts')),
    dry_run boolean NOT NULL,
    status text NOT NULL DEFAULT 'validating' CHECK (status IN ('validating', 'applying', 'done', 'failed')),
    bytes bigint NOT NULL CHECK (bytes >= 0),
    rows_total int CHECK (rows_total >= 0),       -- NULL until the file is parsed
    rows_done int NOT NULL DEFAULT 0 CHECK (rows_done >= 0),
    -- Up to 1000 of the problems found (those found first), [{"line",
    -- "column", "reason"}] in line order; errors_total counts all of them.
    errors jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(errors) = 'array' AND jsonb_array_length(errors) <= 1000),
    errors_total int NOT NULL DEFAULT 0 CHECK (errors_total >= 0),
    summary jsonb NOT NULL DEFAULT '{}',
    created_by uuid,        -- the user (for a token: the user who created the token)
    created_by_token uuid,  -- the token, when the upload used one
    request_id text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX import_jobs_recent ON import_jobs (tenant_id, created_at, id);

ALTER TABLE import_jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE import_jobs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_wall ON import_jobs USING (tenant_id = ANY (current_tenants()))
    WITH CHECK (tenant_id = ANY (current_tenants()));
GRANT SELECT, INSERT, UPDATE ON import_jobs TO onecount_app;

-- The job as the API shows it.  A job still 'validating' or 'applying' that
-- has not moved for 15 minutes belongs to a server that stopped (progress
-- is written at least once per chunk): it shows as failed, and since its
-- rows are applied only together with 'done', nothing was applied.
CREATE FUNCTION import_job_json(j import_jobs, p_with_errors boolean) RETURNS json
    LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', j.id, 'type', j.type, 'dry_run', j.dry_run,
        'status', CASE WHEN s.stalled THEN 'failed' ELSE j.status END,
        'rows_total', j.rows_total, 'rows_done', j.rows_done,
        'errors', CASE WHEN NOT p_with_errors THEN NULL
                       WHEN s.stalled THEN json_build_array(json_build_object('line', NULL, 'column', NULL,
                           'reason', 'the import was interrupted before it finished; nothing was applied'))
                       ELSE j.errors::json END,
        'errors_total', CASE WHEN s.stalled THEN 1 ELSE j.errors_total END,
        'summary', j.summary, 'bytes', j.bytes, 'created_by', j.created_by, 'created_at', j.created_at,
        'updated_at', j.updated_at, 'finished_at', j.finished_at)
    FROM (SELECT j.status IN ('validating', 'applying') AND j.updated_at < now() - interval '15 minutes' AS stalled) s
$$;

-- Ends a real run inside its apply transaction: the job becomes 'done' and
-- the audit log records the import.  Raises (rolling the whole apply back)
-- when the job is no longer applying.
CREATE FUNCTION import_job_applied(p_tenant uuid, p_id uuid, p_rows int, p_summary jsonb, p_user uuid, p_token uuid,
                                   p_request_id text) RETURNS boolean
    LANGUAGE plpgsql AS $$
BEGIN
    UPDATE import_jobs SET status = 'done', rows_done = p_rows, summary = p_summary, finished_at = now(),
                           updated_at = now()
     WHERE tenant_id = p_tenant AND id = p_id AND status = 'applying';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'import % is not applying', p_id USING ERRCODE = 'OCIMP';
    END IF;
    RETURN audit_write(p_tenant, NULL, p_user, p_token, 'import.apply', 'import', p_id::text, p_summary, p_request_id);
END $$;

-- Applies counted rows of a counts import inside its apply transaction: a
-- `count` movement per row, exactly as ledger_post records one (on_hand
-- becomes the number counted; the movement holds the delta and the balances
-- after), so replaying the ledger still gives the balances.  The caller has
-- locked every balance of the import in sku order first (as ledger_post
-- does), so this never deadlocks with sales.  Row by row on purpose: each
-- statement is a primary-key lookup whose plan does not depend on the
-- statistics a bulk import has just made stale.  Answers the new
-- (sku_id, version, on_hand - committed) for the Redis cache.
CREATE FUNCTION import_apply_counts(p_tenant uuid, p_codes text[], p_qty bigint[], p_reference text, p_user uuid,
                                    p_token uuid, p_request_id text)
    RETURNS TABLE (sku_id bigint, version bigint, base bigint)
    LANGUAGE plpgsql AS $$
DECLARE
    i int;
    v_id bigint;
    v_before bigint;
    st stock%ROWTYPE;
BEGIN
    FOR i IN 1 .. coalesce(cardinality(p_codes), 0) LOOP
        SELECT s.id INTO v_id FROM skus s WHERE s.tenant_id = p_tenant AND s.code = p_codes[i] AND s.kind = 'simple';
        IF NOT FOUND THEN
            RAISE EXCEPTION 'no simple SKU % in the brand', p_codes[i] USING ERRCODE = 'OCIMP';
        END IF;
        SELECT s.on_hand INTO v_before FROM stock s WHERE s.tenant_id = p_tenant AND s.sku_id = v_id;
        UPDATE stock s SET on_hand = p_qty[i], version = s.version + 1, updated_at = now()
         WHERE s.tenant_id = p_tenant AND s.sku_id = v_id RETURNING * INTO st;
        INSERT INTO movements (tenant_id, sku_id, kind, qty, on_hand_delta, committed_delta, on_hand_after,
                               committed_after, reference, actor_user, actor_token, request_id)
        VALUES (p_tenant, v_id, 'count', p_qty[i], p_qty[i] - v_before, 0, st.on_hand, st.committed, p_reference,
                p_user, p_token, p_request_id);
        sku_id := v_id;
        version := st.version;
        base := st.on_hand - st.committed;
        RETURN NEXT;
    END LOOP;
END $$;

-- Refreshes the planner statistics of the tables an import wrote, as the
-- last step but one of its apply transaction.  Until autovacuum comes by, a
-- bulk insert leaves the statistics saying the brand is nearly empty, and
-- every look-up by code (the next import, a sale, a hold) is then planned as
-- a scan of the whole brand.  SECURITY DEFINER because ANALYZE needs the
-- tables' owner; it takes no input that reaches SQL.
CREATE FUNCTION import_analyze(p_type text) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    IF p_type = 'counts' THEN
        ANALYZE public.stock, public.movements;
    ELSE
        ANALYZE public.skus, public.stock, public.bundle_components;
    END IF;
    RETURN true;
END $$;
REVOKE ALL ON FUNCTION import_analyze(text) FROM PUBLIC;

-- ---------------------------------------------------------------------------
-- CSV for exports (RFC 4180): a field is quoted when it holds a comma, a
-- quote or a line break, quotes doubled; NULL is an empty field; lines end
-- with CRLF.
-- ---------------------------------------------------------------------------

CREATE FUNCTION csv_field(v text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN v IS NULL THEN ''
                WHEN v <> translate(v, E',"\r\n', '') THEN '"' || replace(v, '"', '""') || '"'
                ELSE v END
$$;

CREATE FUNCTION csv_line(VARIADIC v text[]) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT string_agg(csv_field(x), ',' ORDER BY i) || E'\r\n' FROM unnest(v) WITH ORDINALITY AS t(x, i)
$$;

GRANT EXECUTE ON FUNCTION import_job_json(import_jobs, boolean),
    import_job_applied(uuid, uuid, int, jsonb, uuid, uuid, text),
    import_apply_counts(uuid, text[], bigint[], text, uuid, uuid, text), import_analyze(text), csv_field(text),
    csv_line(text[]) TO onecount_app;
