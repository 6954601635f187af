-- Every api_key_hash an account has ever reported, so the activity API can answer 404 for a hash the
-- caller's account never used (and never reveal whether another account used it). The writer inserts
-- a row for each key it sees in a batch; repeats collapse on merge and readers use DISTINCT/LIMIT 1.
CREATE TABLE IF NOT EXISTS api_key_hashes (
  account_id String,
  api_key_hash String
) ENGINE = ReplacingMergeTree
ORDER BY (account_id, api_key_hash);
