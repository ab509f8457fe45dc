-- Personal data rights: when a cancelled shop's data was purged, and indexes for
-- the retention job (cancelled shops waiting for their purge).
-- depends: 0003_tiers

-- Set by the retention job once every row of the shop's members, staff, keys,
-- branches, questions and tiers is deleted; the shop row stays as a tombstone
-- (name, time zone, dates: no personal data) so that a re-run finds nothing to do.
ALTER TABLE shops ADD COLUMN purged_at TIMESTAMPTZ;
ALTER TABLE shops ADD CONSTRAINT purged_after_cancel CHECK (purged_at IS NULL OR cancelled_at IS NOT NULL);
ALTER TABLE shops ADD CONSTRAINT cancelled_has_time CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL));

CREATE INDEX shops_awaiting_purge ON shops (cancelled_at) WHERE status = 'cancelled' AND purged_at IS NULL;
CREATE INDEX shops_answer_retention ON shops (shop_id) WHERE answer_retention_days IS NOT NULL;
-- the purge deletes a shop's change history by shop (the history is otherwise read by member)
CREATE INDEX member_changes_shop ON member_changes (shop_id);
