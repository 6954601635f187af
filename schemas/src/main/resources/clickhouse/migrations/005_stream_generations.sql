-- Generations of usage-stream and the block of usage_daily shard numbers each owns. A generation is the life of one
-- rollups changelog topic on one Kafka cluster: a new APPLICATION_ID, the streams reset tool (which deletes and
-- recreates the changelog) or a move to another cluster starts a new one, whose rollup versions start at 1 again.
-- Its rows therefore go to shards of its own (shard = shard_base + the events-topic partition), where they add to
-- the older generations' rows (readers sum over shards) instead of losing against their higher versions.
-- usage-stream writes a row when a generation starts and reads them all; a generation keeps its block for good.
-- Plain MergeTree, not Replacing: two rows of one generation with different blocks must stay visible, so that
-- usage-stream refuses to write instead of one of them vanishing in a merge.
CREATE TABLE IF NOT EXISTS stream_generations (
  kafka_cluster_id String,
  changelog_topic_id String,
  application_id String,
  rollups_topic String,
  shard_base UInt16,
  partitions UInt16,
  registered_at DateTime
) ENGINE = MergeTree
ORDER BY (shard_base, kafka_cluster_id, changelog_topic_id);
