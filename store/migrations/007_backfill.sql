-- GitHub backfill state: the ETag and body of every REST response (a re-run
-- asks If-None-Match and GitHub answers 304, which costs no rate limit), and
-- each repository's resume point.
CREATE TABLE IF NOT EXISTS github_etags (
    url        String,
    etag       String,
    body       String CODEC(ZSTD(3)),
    updated_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(updated_at)
ORDER BY url;

CREATE TABLE IF NOT EXISTS backfill_cursors (
    repo       String,
    cursor     String,
    updated_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(updated_at)
ORDER BY repo;
