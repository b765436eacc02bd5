-- Pending `for` timers of the alert evaluator (streams.alerting.nodata): since
-- when a threshold/rate rule's condition has held for a series that has not
-- fired yet. Written with the alerts in the same transaction, read back by a
-- new alerting leader, so a failover does not restart "cpu > 85 for 5m" from
-- zero. `seen` is the series' last sample time when written (refreshed while
-- pending): a timer whose series then went silent past its no-data limit
-- starts over instead of firing at once. One plain table, the same on both
-- paths (no .plain/.timescale variants needed); rows are deleted when the
-- condition clears or the rule goes away.
CREATE TABLE alert_timers (
    rule       text NOT NULL,
    device     text NOT NULL,
    instance   text NOT NULL DEFAULT '',
    since      double precision NOT NULL,
    seen       double precision NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (rule, device, instance)
);
