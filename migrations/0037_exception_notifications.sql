-- 0037_exception_notifications.sql — the exception queue (0033) tells people
-- through the notifications of 0034: an item that opens (or opens again) is
-- an 'exception.opened' event, one that is resolved — by a person or because
-- its condition cleared — an 'exception.resolved' event, with the item's
-- kind, severity and words; webhooks and e-mail preferences filter on the
-- kind and the brand as for alerts.  The event is written in the same
-- transaction as the item's history row, so a rolled-back refresh or action
-- notifies nobody and a committed one cannot be lost.

CREATE FUNCTION exception_event_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    e exceptions;
BEGIN
    IF NEW.action NOT IN ('opened', 'reopened', 'closed', 'resolved') THEN
        RETURN NULL;
    END IF;
    SELECT * INTO e FROM exceptions WHERE tenant_id = NEW.tenant_id AND id = NEW.exception_id;
    PERFORM notify_event(NEW.tenant_id,
                         CASE WHEN NEW.action IN ('opened', 'reopened') THEN 'exception.opened' ELSE 'exception.resolved' END,
                         e.kind, e.severity,
                         CASE NEW.action WHEN 'closed' THEN 'Closed by itself: ' || e.title
                                         WHEN 'resolved' THEN 'Resolved: ' || e.title
                                         WHEN 'reopened' THEN 'Open again: ' || e.title
                                         ELSE e.title END,
                         jsonb_build_object('exception_id', e.id::text, 'kind', e.kind, 'state', e.state,
                                            'connection_id', e.connection_id, 'sku_id', e.sku_id,
                                            'note', NEW.note, 'opened_at', e.opened_at));
    RETURN NULL;
END $$;

CREATE TRIGGER exception_events_notify AFTER INSERT ON exception_events
    FOR EACH ROW EXECUTE FUNCTION exception_event_notify();
