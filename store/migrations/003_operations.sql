-- Deploys from CI/CD and GitHub deployment_status. A repeated id is the
-- same deploy; its latest report (e.g. in_progress, then success) wins.
CREATE TABLE IF NOT EXISTS deploys (
    source      LowCardinality(String),
    id          String,
    service     LowCardinality(String),
    environment LowCardinality(String),
    sha         String,
    repo        String,
    status      LowCardinality(String),
    actor       String,
    started_at  DateTime64(3, 'UTC'),
    finished_at DateTime64(3, 'UTC'),
    pipeline    String,
    url         String,
    version     String,
    received_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(received_at)
ORDER BY (source, id);

-- Access events: the high-volume source. A repeated id is the same event.
CREATE TABLE IF NOT EXISTS access_events (
    system      LowCardinality(String),
    id          String,
    time        DateTime64(3, 'UTC'),
    principal   String,
    action      String,
    result      LowCardinality(String),
    role        LowCardinality(String),
    ticket      String,
    source_ip   String,
    source      LowCardinality(String),
    format      LowCardinality(String),
    raw         String CODEC(ZSTD(3)),
    received_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree
ORDER BY (system, id);
