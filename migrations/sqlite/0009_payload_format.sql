-- The shape a webhook's deliveries take: 'bookhook' (bookhook's own JSON) or 'timekit' (Timekit's
-- payload field for field). Webhooks made before the choice existed keep what they were sent.
ALTER TABLE webhooks ADD COLUMN payload_format TEXT NOT NULL DEFAULT 'bookhook'
    CHECK (payload_format IN ('bookhook', 'timekit'));
