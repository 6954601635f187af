-- One row per distinct usage event (after dedup), for analysts and for reconciliation against usage_daily.
-- Partitioned by the UTC day of created_at so retention is a partition drop (18.16 has no TTL); usage-stream drops
-- partitions older than RAW_RETENTION_DAYS. A writer retry can insert an event twice: the copies share the sorting
-- key, so ReplacingMergeTree (and readers using FINAL) keep one.
-- Timestamps: DateTime (seconds) for convenience plus the exact microseconds since the epoch (18.16 has no
-- DateTime64).
CREATE TABLE IF NOT EXISTS usage_events (
  date Date,
  account_id String,
  event_id String,
  api_key_hash String,
  user Nullable(String),
  model String,
  model_permaslug String,
  provider_name String,
  endpoint_id String,
  created_at DateTime,
  created_at_us UInt64,
  prompt_tokens UInt64,
  completion_tokens UInt64,
  reasoning_tokens UInt64,
  cached_tokens UInt64,
  cost Decimal(38, 12),
  is_byok UInt8,
  byok_cost Decimal(38, 12),
  app Nullable(String),
  received_at DateTime,
  received_at_us UInt64
) ENGINE = ReplacingMergeTree
PARTITION BY date
ORDER BY (account_id, event_id);
