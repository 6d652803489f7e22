-- Each writer (a pipeline process) keeps its own chain, so several workers
-- never fork one. The embedded mode has one writer and the chain ''.
ALTER TABLE raw_deliveries ADD COLUMN IF NOT EXISTS chain String DEFAULT '';
