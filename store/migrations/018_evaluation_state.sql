-- What the last full evaluation of each repository and access system
-- judged: the digest of the evidence, the fingerprint of the configuration
-- and controls, and the next time time alone changes a verdict. A full
-- evaluation leaves a unit whose digest and fingerprint are unchanged and
-- whose deadline has not come alone. The newest row of a unit is current.
CREATE TABLE IF NOT EXISTS evaluation_state (
    scope LowCardinality(String),
    name String,
    digest UInt64,
    fingerprint UInt64,
    next_deadline DateTime64(3, 'UTC'),
    due Bool,
    evaluated_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(evaluated_at)
ORDER BY (scope, name);
