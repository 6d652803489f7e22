-- Alert outbox (docs/controls.md, "Alerts"). One logical row per alert id,
-- "RULE|SUBJECT|TRANSITION": the alert is queued once, and every later
-- state (claimed, retried, sent, cancelled, failed) is a new row with a
-- higher version that replaces it. The version packs, from the high bits:
-- a requeue epoch (7 bits), a terminal flag (1 bit: sent, cancelled and
-- failed), and the writer's clock in microseconds (56 bits). So a terminal
-- state can never be replaced by a late claim, retry note or re-enqueue
-- of the same epoch, whatever the writers' clocks say. Enqueued rows carry
-- version 0 and so lose against any later state.
--
-- claimed_by and claimed_until are the sending lease: while it is
-- unexpired, only claimed_by may send the alert.
CREATE TABLE IF NOT EXISTS alerts (
    id            String,
    rule          LowCardinality(String),
    subject       String,
    transition    LowCardinality(String),
    repo          String,
    created_at    DateTime64(6, 'UTC'),
    due_at        DateTime64(6, 'UTC'),
    state         LowCardinality(String),
    attempts      UInt32,
    last_error    String,
    sent_at       DateTime64(6, 'UTC'),
    claimed_by    String,
    claimed_until DateTime64(6, 'UTC'),
    payload       String CODEC(ZSTD(3)),
    updated_at    DateTime64(6, 'UTC'),
    version       UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY id;
