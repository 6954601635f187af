-- Daily rollup per (account, UTC day, api key, end user, endpoint) and shard: full running totals, never deltas.
-- shard is the partition of the events topic whose stream task counted the events, plus the shard base of the stream's
-- generation (005_stream_generations.sql); each event is counted in exactly one shard, so a group's totals are the
-- sum of its rows over shards: readers always sum.
-- Every update of a (group, shard) carries version = the number of distinct events folded into it so far, so a
-- replayed update is the identical row and ReplacingMergeTree keeps the row with the highest version.
-- Readers use FINAL so results do not depend on whether parts have merged yet.
-- user_id is '' for events without a user: a contract user is 1-256 chars, so '' is unambiguous, and
-- Nullable columns cannot be part of the sorting key on 18.16.
CREATE TABLE IF NOT EXISTS usage_daily (
  account_id String,
  date Date,
  api_key_hash String,
  user_id String,
  endpoint_id String,
  model String,
  model_permaslug String,
  provider_name String,
  shard UInt16,
  requests UInt64,
  prompt_tokens UInt64,
  completion_tokens UInt64,
  reasoning_tokens UInt64,
  cached_tokens UInt64,
  usage Decimal(38, 12),
  byok_usage_inference Decimal(38, 12),
  byok_requests UInt64,
  version UInt64,
  updated_at DateTime
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(date)
ORDER BY (account_id, date, api_key_hash, user_id, endpoint_id, model, model_permaslug, provider_name, shard);
