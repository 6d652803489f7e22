-- Conflicts: an event that arrived under an id the raw log already holds
-- with other bytes. The first stays the evidence; every attempt to
-- rewrite it is kept here, bytes and all. Keyed by the attempt's bytes, so
-- a replayed batch (a crash before its raw rows) adds no second row.
CREATE TABLE IF NOT EXISTS conflicts (
    source      LowCardinality(String),
    id          String,
    event       LowCardinality(String),
    received_at DateTime64(3, 'UTC'),
    kept_sha256 String,
    sha256      String,
    body        String CODEC(ZSTD(3))
) ENGINE = ReplacingMergeTree
ORDER BY (source, id, sha256);
