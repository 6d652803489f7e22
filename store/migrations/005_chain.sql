-- Tamper evidence: each raw delivery is a link of a hash chain. hash is
-- SHA-256 over the previous link's hash and the delivery (see
-- store/chain.go); seq numbers the links from 1. Rows stored before this
-- migration have seq 0 and are outside the chain.
ALTER TABLE raw_deliveries ADD COLUMN IF NOT EXISTS seq UInt64 DEFAULT 0;
ALTER TABLE raw_deliveries ADD COLUMN IF NOT EXISTS prev_hash String DEFAULT '';
ALTER TABLE raw_deliveries ADD COLUMN IF NOT EXISTS hash String DEFAULT '';
