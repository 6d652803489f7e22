-- The evidence of findings, once per distinct evidence: a verdict row
-- names its evidence by key (the first 16 bytes of the SHA-256 of the
-- evidence JSON, hex) instead of repeating it. Most verdicts share their
-- evidence with others (every access event of one class has the same), and
-- the evidence was most of a verdict row's bytes. Copies of one key, from
-- writers that recorded it at the same time, hold the same bytes and merge
-- away. Rows written before this migration keep their evidence inline
-- (evidence_key empty) and read as before.
CREATE TABLE IF NOT EXISTS finding_evidence (
    key String,
    evidence String
) ENGINE = ReplacingMergeTree
ORDER BY key;

ALTER TABLE findings ADD COLUMN IF NOT EXISTS evidence_key String DEFAULT '';
