-- Waivers are evidence: each configured waiver is kept, with when this
-- store first saw it, even after it leaves the configuration.
CREATE TABLE IF NOT EXISTS waivers (
    rule        LowCardinality(String),
    subject     String,
    reason      String,
    approved_by String,
    expires     DateTime64(3, 'UTC'),
    first_seen  DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(first_seen)
ORDER BY (rule, subject, approved_by, expires, reason);
