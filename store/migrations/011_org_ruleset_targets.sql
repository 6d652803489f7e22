-- An organisation ruleset's repository targeting (conditions.repository_name
-- include/exclude, or the kind of targeting CM-6 cannot resolve: by
-- repository id or property), so CM-6 can judge it for each repository it
-- targets.
ALTER TABLE ruleset_events ADD COLUMN IF NOT EXISTS repo_include Array(String) DEFAULT [];
ALTER TABLE ruleset_events ADD COLUMN IF NOT EXISTS repo_exclude Array(String) DEFAULT [];
ALTER TABLE ruleset_events ADD COLUMN IF NOT EXISTS repo_targeting LowCardinality(String) DEFAULT '';
