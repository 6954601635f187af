package io.tallyhouse.stream;

import io.tallyhouse.common.clickhouse.ClickHouseConfig;
import io.tallyhouse.common.config.KafkaClientSettings;
import io.tallyhouse.common.config.KafkaClientSettings.Role;
import io.tallyhouse.common.config.PipelineSettings;
import io.tallyhouse.common.config.Settings;
import io.tallyhouse.schemas.registry.RegistryConfig;
import io.tallyhouse.stream.maintenance.StreamGenerations;
import io.tallyhouse.stream.rollup.RollupStore;
import io.tallyhouse.stream.topology.UsageTopology;
import io.tallyhouse.stream.writer.WriterSettings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.OptionalInt;
import java.util.Set;

/**
 * Settings of usage-stream, read with {@link Settings} (every variable is described in
 * docs/CONFIGURATION.md).
 *
 * @param pipeline the settings usage-stream shares with gateway-ingest: Kafka, the registry, the
 *     events topic, its partitions and the dedup window (the same value gateway-ingest enforces on
 *     created_at, so every event it accepts falls inside the window)
 * @param distinctEventsTopic the distinct events topic: each event once, as its usage_events row,
 *     for the writer
 * @param rawRetentionDays days of usage_events kept; older day partitions are dropped
 * @param streamThreadsSetting STREAM_THREADS when set ({@link #streamThreads(int)})
 * @param rollupCacheGroupsSetting ROLLUP_CACHE_GROUPS when set ({@link #rollupCacheGroups(int)})
 * @param producerCompression compression of what the topology writes to Kafka
 * @param commitInterval how often Kafka Streams commits its transaction, i.e. how often the
 *     distinct events topic and the rollups changelog receive committed records
 * @param generationSwitch where a new generation of the stream starts reading when ClickHouse holds
 *     counts already ({@link StreamGenerations})
 * @param kafka the brokers and the Kafka client properties from {@code KAFKA_CLIENT_*} and the
 *     roles' variables, for every client usage-stream makes; what exactly once and the writer rest
 *     on cannot be set ({@link #CLIENTS})
 * @param closeBatchGroups the most groups of its rollup store a stream task visits (and deletes)
 *     per step while it removes closed days, so that no transaction does unbounded work
 */
public record StreamConfig(
    String applicationId,
    PipelineSettings pipeline,
    String distinctEventsTopic,
    String deadLetterTopic,
    Path stateDir,
    Duration commitInterval,
    ClickHouseConfig clickHouse,
    WriterSettings writer,
    int rawRetentionDays,
    OptionalInt streamThreadsSetting,
    OptionalInt rollupCacheGroupsSetting,
    String producerCompression,
    PipelineSettings.Http http,
    StreamGenerations.Switch generationSwitch,
    int closeBatchGroups,
    KafkaClientSettings kafka) {

  /**
   * usage-stream's clients (Kafka Streams with its own producers, consumers and admin client, the
   * writer's consumer, the admin clients of the topic and generation checks) and what they fix.
   */
  public static final KafkaClientSettings.Fixed CLIENTS =
      KafkaClientSettings.Fixed.of(
              "usage-stream", Role.STREAMS, Role.PRODUCER, Role.CONSUMER, Role.ADMIN)
          .with(
              Role.STREAMS,
              "exactly once and the stream's names rest on it; set APPLICATION_ID, STATE_DIR,"
                  + " COMMIT_INTERVAL_MS or STREAM_THREADS",
              Set.of(
                  "application.id",
                  "processing.guarantee",
                  "state.dir",
                  "commit.interval.ms",
                  "num.stream.threads",
                  "default.deserialization.exception.handler",
                  "deserialization.exception.handler"))
          .with(
              Role.PRODUCER,
              "exactly once rests on it",
              Set.of("transactional.id", "enable.idempotence", "acks"))
          .with(
              Role.CONSUMER,
              "the writer reads committed transactions only and commits after ClickHouse took"
                  + " the rows",
              Set.of(
                  "isolation.level",
                  "enable.auto.commit",
                  "group.id",
                  "auto.offset.reset",
                  "allow.auto.create.topics"));

  /** Kafka's compression.type values. */
  private static final Set<String> COMPRESSIONS = Set.of("none", "gzip", "snappy", "lz4", "zstd");

  public static StreamConfig read(Settings s) {
    PipelineSettings pipeline = PipelineSettings.read(s);
    String applicationId =
        s.text(
                "APPLICATION_ID",
                "Kafka Streams application id: names the stream's consumer"
                    + " group, its state and its rollups changelog")
            .orElse("usage-stream");
    String distinct =
        s.text(
                "DISTINCT_EVENTS_TOPIC",
                "the distinct events topic: each event once, as its"
                    + " usage_events row, for the ClickHouse writer")
            .orElse(pipeline.eventsTopic() + "-distinct", "EVENTS_TOPIC-distinct");
    s.retired("RAW_EVENTS_TOPIC", "set DISTINCT_EVENTS_TOPIC (the same topic under its one name)");
    String deadLetters =
        s.text(
                "DEAD_LETTER_TOPIC",
                "where records that cannot be counted go, with the reason in a" + " header")
            .orElse(pipeline.eventsTopic() + "-dlq", "EVENTS_TOPIC-dlq");
    Path stateDir =
        s.text("STATE_DIR", "Kafka Streams' state directory (the RocksDB stores)")
            .pathOrElse("/var/lib/tallyhouse/usage-stream");
    Duration commitInterval =
        s.number("COMMIT_INTERVAL_MS", "how often Kafka Streams commits its transaction")
            .millisOrElse(Duration.ofMillis(200));
    ClickHouseConfig clickHouse = PipelineSettings.clickHouse(s);
    // About one insert per table and second, as ClickHouse advises: every insert makes a part that
    // background merges rewrite, and parts of a second's events instead of a quarter's cost
    // ClickHouse about half the CPU per event (bench/README.md, "usage-stream", sixth round). The
    // row bound only applies when the writer reads a backlog, where it keeps each insert within
    // ClickHouse's advised 10 000-100 000 rows per table.
    WriterSettings writer =
        new WriterSettings(
            s.number(
                    "WRITER_BATCH_ROWS",
                    "the most records the ClickHouse writer inserts in one batch")
                .intOrElse(100_000),
            s.number(
                    "WRITER_MAX_WAIT_MS",
                    "how long the ClickHouse writer gathers records before it inserts what it has")
                .millisOrElse(Duration.ofMillis(1000)),
            s.number(
                    "WRITER_COMMIT_TIMEOUT_MS",
                    "how long the writer waits for its offset commit before it replaces its"
                        + " consumer and resumes from the last committed offsets")
                .millisOrElse(Duration.ofSeconds(60)));
    int rawRetentionDays = PipelineSettings.rawRetentionDays(s);
    OptionalInt streamThreads =
        s.number("STREAM_THREADS", "Kafka Streams threads")
            .intIfSet("one per core, at most the events topic's partitions");
    OptionalInt rollupCacheGroups =
        s.number(
                "ROLLUP_CACHE_GROUPS",
                "groups whose totals each stream task caches in front" + " of RocksDB")
            .intIfSet("a quarter of the heap over the events topic's partitions, at least 10000");
    String compression =
        s.text("PRODUCER_COMPRESSION", "compression of what the topology writes to Kafka")
            .oneOf(COMPRESSIONS)
            .orElse("lz4");
    PipelineSettings.Http http = PipelineSettings.http(s, 8082);
    StreamGenerations.Switch generationSwitch = StreamGenerations.Switch.read(s);
    int closeBatchGroups =
        s.number(
                "CLOSE_BATCH_GROUPS",
                "the most rollup-store groups a stream task deletes per"
                    + " step while it removes closed days")
            .intOrElse(5_000);
    KafkaClientSettings kafka = pipeline.kafkaClients(s, CLIENTS);
    return new StreamConfig(
        applicationId,
        pipeline,
        distinct,
        deadLetters,
        stateDir,
        commitInterval,
        clickHouse,
        writer,
        rawRetentionDays,
        streamThreads,
        rollupCacheGroups,
        compression,
        http,
        generationSwitch,
        closeBatchGroups,
        kafka);
  }

  public String bootstrapServers() {
    return pipeline.bootstrapServers();
  }

  public RegistryConfig registry() {
    return pipeline.registry();
  }

  public String eventsTopic() {
    return pipeline.eventsTopic();
  }

  /**
   * Kafka Streams threads; each commits its own transactions, so while one waits for the broker
   * another processes. By default one per core, but no more than the events topic has partitions
   * ({@code eventsPartitions}, as described by the broker at start: an admin-made topic decides).
   */
  public int streamThreads(int eventsPartitions) {
    return streamThreadsSetting.orElse(
        defaultStreamThreads(Runtime.getRuntime().availableProcessors(), eventsPartitions));
  }

  /**
   * Groups whose totals each stream task keeps in memory in front of RocksDB (about {@link
   * RollupStore#BYTES_PER_CACHED_GROUP} bytes each): enough for a partition's groups of the last
   * day or two saves a RocksDB read per event. By default a quarter of the heap shared out over the
   * events topic's partitions, as described by the broker at start.
   */
  public int rollupCacheGroups(int eventsPartitions) {
    return rollupCacheGroupsSetting.orElse(
        defaultRollupCacheGroups(Runtime.getRuntime().maxMemory(), eventsPartitions));
  }

  /** The partition count for topics usage-stream creates (an existing topic keeps its own). */
  public int eventsPartitions() {
    return pipeline.eventsPartitions();
  }

  public Duration dedupWindow() {
    return pipeline.dedupWindow();
  }

  public UsageTopology.Topics topics() {
    return new UsageTopology.Topics(eventsTopic(), distinctEventsTopic, deadLetterTopic);
  }

  /**
   * Where the writer reads the rollups: the rollup store's changelog, named after the application
   * id.
   */
  public String rollupsTopic() {
    return RollupStore.changelogTopic(applicationId);
  }

  /** What the generation check and the writer's shard bases need to know. */
  public StreamGenerations.Setup generations() {
    return new StreamGenerations.Setup(
        applicationId, kafka, eventsTopic(), distinctEventsTopic, generationSwitch);
  }

  /**
   * A quarter of the heap for the rollup caches, in case one instance owns every partition; at
   * least 10 000 groups a task, so a small heap still caches the hottest groups.
   */
  static int defaultRollupCacheGroups(long maxHeapBytes, int partitions) {
    long groups = maxHeapBytes / 4 / RollupStore.BYTES_PER_CACHED_GROUP / Math.max(1, partitions);
    return (int) Math.max(10_000, Math.min(Integer.MAX_VALUE, groups));
  }

  /**
   * One thread per core, as a thread waits for its transaction commits while another processes
   * (bench/README.md, "usage-stream"); a thread without a partition would only idle.
   */
  static int defaultStreamThreads(int cores, int partitions) {
    return Math.max(1, Math.min(cores, partitions));
  }
}
