package io.tallyhouse.stream;

import io.tallyhouse.common.clickhouse.ClickHouseConfig;
import io.tallyhouse.common.config.EnvNumbers;
import io.tallyhouse.schemas.registry.RegistryConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * Settings of usage-stream, from the environment.
 *
 * @param dedupWindow how long a copy of an event is still recognised; the same value gateway-ingest enforces on
 *     created_at, so every event it accepts falls inside the window
 * @param writerMaxWait how long the ClickHouse writer gathers rows before it inserts what it has
 * @param rawRetentionDays days of usage_events kept; older day partitions are dropped
 * @param streamThreads Kafka Streams threads; each commits its own transactions, so while one waits for the broker
 *     another processes; by default one per core, but no more than there are partitions
 * @param rollupCacheGroups groups whose totals each stream task keeps in memory in front of RocksDB (about
 *     {@link #BYTES_PER_CACHED_GROUP} bytes each): enough for a partition's groups of the last day or two saves a
 *     RocksDB read per event; by default a quarter of the heap shared out over the partitions
 * @param producerCompression compression of what the topology writes to Kafka ({@code lz4}; {@code none},
 *     {@code zstd}, ... as Kafka's compression.type)
 * @param commitInterval how often Kafka Streams commits its transaction, i.e. how often the raw topic and the rollups
 *     changelog receive committed records
 * @param generationSwitch where a new generation of the stream starts reading when ClickHouse holds counts already
 *     ({@link StreamGenerations})
 * @param writerCommitTimeout how long the writer waits for its offset commit; past it, it replaces its consumer and
 *     resumes from the last committed offsets
 * @param closeBatchGroups the most groups of its rollup store a stream task visits (and deletes) per second while it
 *     removes closed days, so that no transaction does unbounded work
 */
public record StreamConfig(
    String applicationId, String bootstrapServers, RegistryConfig registry, String eventsTopic, int eventsPartitions,
    String rawEventsTopic, String deadLetterTopic, Path stateDir, Duration dedupWindow,
    Duration commitInterval, ClickHouseConfig clickHouse, int writerBatchRows, Duration writerMaxWait,
    int rawRetentionDays, int streamThreads, int rollupCacheGroups, String producerCompression, String httpHost,
    int httpPort, StreamGenerations.Switch generationSwitch, Duration writerCommitTimeout, int closeBatchGroups) {

  /** What a cached group costs on the heap: 459 bytes measured with 176-character group keys, rounded up. */
  static final long BYTES_PER_CACHED_GROUP = 500;

  UsageTopology.Topics topics() {
    return new UsageTopology.Topics(eventsTopic, rawEventsTopic, deadLetterTopic);
  }

  /** Where the writer reads the rollups: the rollup store's changelog, named after the application id. */
  String rollupsTopic() {
    return UsageTopology.rollupsTopic(applicationId);
  }

  public static StreamConfig fromEnv(Map<String, String> env) {
    int partitions = EnvNumbers.positiveInt(env, "EVENTS_PARTITIONS", 6);
    return new StreamConfig(
        env.getOrDefault("APPLICATION_ID", "usage-stream"),
        env.getOrDefault("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
        RegistryConfig.fromEnv(env),
        env.getOrDefault("EVENTS_TOPIC", "usage-events"),
        partitions,
        env.getOrDefault("RAW_EVENTS_TOPIC", env.getOrDefault("EVENTS_TOPIC", "usage-events") + "-distinct"),
        env.getOrDefault("DEAD_LETTER_TOPIC", env.getOrDefault("EVENTS_TOPIC", "usage-events") + "-dlq"),
        Path.of(env.getOrDefault("STATE_DIR", "/var/lib/tallyhouse/usage-stream")),
        Duration.ofDays(EnvNumbers.positiveLong(env, "DEDUP_WINDOW_DAYS", 35)),
        Duration.ofMillis(EnvNumbers.positiveLong(env, "COMMIT_INTERVAL_MS", 200)),
        ClickHouseConfig.fromEnv(env),
        EnvNumbers.positiveInt(env, "WRITER_BATCH_ROWS", 20_000),
        Duration.ofMillis(EnvNumbers.positiveLong(env, "WRITER_MAX_WAIT_MS", 250)),
        EnvNumbers.positiveInt(env, "RAW_RETENTION_DAYS", 400),
        EnvNumbers.positiveInt(env, "STREAM_THREADS",
            defaultStreamThreads(Runtime.getRuntime().availableProcessors(), partitions)),
        EnvNumbers.positiveInt(env, "ROLLUP_CACHE_GROUPS",
            defaultRollupCacheGroups(Runtime.getRuntime().maxMemory(), partitions)),
        env.getOrDefault("PRODUCER_COMPRESSION", "lz4"),
        env.getOrDefault("HTTP_HOST", "127.0.0.1"),
        EnvNumbers.port(env, "HTTP_PORT", 8082),
        StreamGenerations.Switch.fromEnv(env),
        Duration.ofMillis(EnvNumbers.positiveLong(env, "WRITER_COMMIT_TIMEOUT_MS", 60_000)),
        EnvNumbers.positiveInt(env, "CLOSE_BATCH_GROUPS", 5_000));
  }

  /**
   * A quarter of the heap for the rollup caches, in case one instance owns every partition; at least 10 000 groups a
   * task, so a small heap still caches the hottest groups.
   */
  static int defaultRollupCacheGroups(long maxHeapBytes, int partitions) {
    long groups = maxHeapBytes / 4 / BYTES_PER_CACHED_GROUP / Math.max(1, partitions);
    return (int) Math.max(10_000, Math.min(Integer.MAX_VALUE, groups));
  }

  /**
   * One thread per core, as a thread waits for its transaction commits while another processes (on the 2-core bench
   * box one thread left the machine 87-90 % busy, two 96-97 %, at the same CPU per event); a thread without a
   * partition would only idle.
   */
  static int defaultStreamThreads(int cores, int partitions) {
    return Math.max(1, Math.min(cores, partitions));
  }
}
