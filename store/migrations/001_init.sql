-- Raw log: every accepted delivery, unchanged, written once. Append-only:
-- nothing replaces or merges rows away, so a delivery stored twice would
-- show. The pipeline writes a delivery only when its id is not yet here, and
-- writes it after its derived rows, so a crash before this insert is
-- repaired by the sender's retry.
CREATE TABLE IF NOT EXISTS raw_deliveries (
    source      LowCardinality(String),
    event       LowCardinality(String),
    delivery_id String,
    received_at DateTime64(3, 'UTC'),
    sha256      String,
    body        String CODEC(ZSTD(3))
) ENGINE = MergeTree
ORDER BY (source, delivery_id);

-- Deliveries that were accepted but could not be enriched, with the reason.
CREATE TABLE IF NOT EXISTS dead_letters (
    source      LowCardinality(String),
    event       LowCardinality(String),
    delivery_id String,
    received_at DateTime64(3, 'UTC'),
    reason      String,
    body        String CODEC(ZSTD(3))
) ENGINE = ReplacingMergeTree
ORDER BY (source, delivery_id);

-- One snapshot of a pull request per delivery.
CREATE TABLE IF NOT EXISTS pull_requests (
    repo             String,
    number           UInt32,
    delivery_id      String,
    action           LowCardinality(String),
    state            LowCardinality(String),
    merged           Bool,
    merged_at        DateTime64(3, 'UTC'),
    merge_commit_sha String,
    head_sha         String,
    head_ref         String,
    base_ref         String,
    default_branch   String,
    author           String,
    merged_by        String,
    title            String,
    body             String,
    url              String,
    labels           Array(String),
    updated_at       DateTime64(3, 'UTC'),
    received_at      DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree
ORDER BY (repo, number, delivery_id);

-- Every review event: the review's state history.
CREATE TABLE IF NOT EXISTS reviews (
    repo         String,
    pr_number    UInt32,
    review_id    Int64,
    delivery_id  String,
    action       LowCardinality(String),
    reviewer     String,
    state        LowCardinality(String),
    commit_id    String,
    submitted_at DateTime64(3, 'UTC'),
    url          String,
    received_at  DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree
ORDER BY (repo, pr_number, review_id, delivery_id);

-- Branch movements. A push is identified by what it moved, so the same push
-- learned twice (webhook, backfill) is one row.
CREATE TABLE IF NOT EXISTS pushes (
    repo           String,
    ref            String,
    before         String,
    after          String,
    delivery_id    String,
    default_branch String,
    pusher         String,
    created        Bool,
    deleted        Bool,
    forced         Bool,
    pushed_at      DateTime64(3, 'UTC'),
    commit_shas    Array(String),
    messages       Array(String),
    url            String,
    received_at    DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree
ORDER BY (repo, ref, after, before);

CREATE TABLE IF NOT EXISTS protection_events (
    repo               String,
    delivery_id        String,
    action             LowCardinality(String),
    sender             String,
    rule_name          String,
    review_enforcement LowCardinality(String),
    required_approvals Int32,
    dismiss_stale      Bool,
    admin_enforced     Bool,
    occurred_at        DateTime64(3, 'UTC'),
    received_at        DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree
ORDER BY (repo, delivery_id);

-- Findings history: a row each time a (rule, subject) verdict changes.
-- The current finding is the latest row. Identical retried inserts collapse.
CREATE TABLE IF NOT EXISTS findings (
    rule         LowCardinality(String),
    subject      String,
    outcome      LowCardinality(String),
    reason       String,
    repo         String,
    occurred_at  DateTime64(3, 'UTC'),
    evaluated_at DateTime64(6, 'UTC'),
    evidence     String,
    waiver       String
) ENGINE = ReplacingMergeTree
ORDER BY (rule, subject, evaluated_at);

-- The merged state of each pull request into its default branch, whatever
-- order its events arrived in.
CREATE VIEW IF NOT EXISTS merged_pull_requests AS
SELECT *
FROM pull_requests FINAL
WHERE merged AND action = 'closed' AND base_ref = default_branch
ORDER BY repo, number, received_at
LIMIT 1 BY repo, number;

-- The default-branch chain: pushes that moved a default branch.
CREATE VIEW IF NOT EXISTS default_branch_pushes AS
SELECT *
FROM pushes FINAL
WHERE ref = concat('refs/heads/', default_branch) AND NOT created AND NOT deleted;

-- Pushes to a default branch that are no merged pull request's merge commit.
CREATE VIEW IF NOT EXISTS direct_pushes AS
SELECT *
FROM default_branch_pushes
WHERE (repo, after) NOT IN (SELECT repo, merge_commit_sha FROM merged_pull_requests)
ORDER BY repo, after, received_at
LIMIT 1 BY repo, after;

-- The population of changes (docs/controls.md, "Change").
CREATE VIEW IF NOT EXISTS changes AS
SELECT
    'pull_request' AS kind,
    repo,
    concat(repo, '#', toString(number)) AS subject,
    number,
    merge_commit_sha AS sha,
    merged_at AS occurred_at,
    author AS actor,
    title,
    url
FROM merged_pull_requests
UNION ALL
SELECT
    'direct_push' AS kind,
    repo,
    concat(repo, '@', after) AS subject,
    toUInt32(0) AS number,
    after AS sha,
    pushed_at AS occurred_at,
    pusher AS actor,
    arrayElement(messages, length(messages)) AS title,
    url
FROM direct_pushes;
