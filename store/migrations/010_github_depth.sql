-- Who pushed or wrote code on a pull request: synchronize senders, pushes
-- to branches other than the default one (pr_number 0: bound to the pull
-- requests whose head branch it is, by time, when evidence is read),
-- backfilled pull request commits, and each pull request's head and
-- created_at (how 'opened'). The same evidence learned twice is one row.
CREATE TABLE IF NOT EXISTS contributions (
    repo        String,
    pr_number   UInt32,
    head_repo   String,
    head_ref    String,
    login       String,
    how         LowCardinality(String),
    sha         String,
    at          DateTime64(3, 'UTC'),
    delivery_id String,
    received_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree
ORDER BY (repo, head_ref, pr_number, how, login, sha);

-- Check runs and commit statuses, per commit: every result is kept (a
-- check's history), one row per result whichever way it was learned.
CREATE TABLE IF NOT EXISTS check_results (
    repo        String,
    sha         String,
    name        String,
    kind        LowCardinality(String),
    state       LowCardinality(String),
    at          DateTime64(3, 'UTC'),
    id          Int64,
    url         String,
    delivery_id String,
    received_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree
ORDER BY (repo, sha, name, kind, at, state);

-- Ruleset states: repository_ruleset webhooks and backfilled rulesets.
-- An organisation ruleset's row has an empty repo and its org.
CREATE TABLE IF NOT EXISTS ruleset_events (
    repo                String,
    org                 String,
    default_branch      String,
    ruleset_id          Int64,
    delivery_id         String,
    action              LowCardinality(String),
    sender              String,
    name                String,
    source_type         LowCardinality(String),
    target              LowCardinality(String),
    enforcement         LowCardinality(String),
    include             Array(String),
    exclude             Array(String),
    bypass_actors       Array(String),
    has_review_rule     Bool,
    required_approvals  Int32,
    dismiss_stale       Bool,
    review_rule_deleted Bool,
    enforcement_from    String,
    url                 String,
    occurred_at         DateTime64(3, 'UTC'),
    received_at         DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree
ORDER BY (org, repo, ruleset_id, delivery_id);
