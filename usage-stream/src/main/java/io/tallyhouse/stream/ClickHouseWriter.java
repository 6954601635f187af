package io.tallyhouse.stream;

import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.ClickHouseException;
import io.tallyhouse.common.clickhouse.Migrations;
import io.tallyhouse.common.clickhouse.SqlLiteral;
import io.tallyhouse.common.clickhouse.TabSeparated;
import java.time.Clock;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.CommitFailedException;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.NoOffsetForPartitionException;
import org.apache.kafka.clients.consumer.OffsetOutOfRangeException;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Copies committed rollups and distinct events into ClickHouse (the sequence and its guarantee: DESIGN.md).
 * A batch closes at {@code WRITER_BATCH_ROWS} records or {@code WRITER_MAX_WAIT_MS} after its first record; its
 * offsets are committed only after every insert of the batch succeeded. While ClickHouse is down the writer retries
 * with backoff and the backlog stays in Kafka. Any other failure (a commit that timed out while the broker was away,
 * a record it cannot write) closes the consumer; after a backoff a new one resumes from the committed offsets, which
 * re-inserts at most the batch whose commit was lost (inserts are idempotent).
 */
final class ClickHouseWriter implements Runnable, AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(ClickHouseWriter.class);
  private static final Duration MAX_BACKOFF = Duration.ofSeconds(5);
  private static final Duration FIRST_RESTART_BACKOFF = Duration.ofSeconds(1);
  private static final Duration MAX_RESTART_BACKOFF = Duration.ofSeconds(30);
  private static final Duration RETENTION_EVERY = Duration.ofHours(1);
  private static final List<String> API_KEY_HASH_COLUMNS = List.of("account_id", "api_key_hash");
  private static final DateTimeFormatter UPDATED_AT = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss")
      .withZone(ZoneOffset.UTC);

  private final StreamConfig config;
  private final Properties consumerProperties;
  // Replaced after a failure; volatile for close(), which wakes the current one up.
  private volatile KafkaConsumer<byte[], byte[]> consumer;
  private final ClickHouse clickHouse;
  private final Clock clock;
  private final StreamGenerations generations;
  /** The rollups topics and the usage_daily shard of each one's partition 0 (DESIGN.md, "Generations"). */
  private Map<String, Integer> shardBases;
  private final Thread thread;
  private volatile boolean running = true;
  private volatile boolean healthy = true;
  private volatile long rowsWritten;
  private volatile long insertFailures;
  private volatile long partitionsWithDeletedRecords;
  private volatile long restarts;
  // From a failure until the new consumer has its partitions.
  private volatile boolean recovering;
  private long nextRetentionNanos = System.nanoTime();
  // A batch's rows, per table. Kept from batch to batch: megabytes allocated anew for every batch were humongous
  // objects to G1 and set off a fifth of the stream JVM's collections.
  private final TabSeparated events = new TabSeparated(1 << 16);
  private final TabSeparated rows = new TabSeparated(1 << 16);
  private final TabSeparated hashes = new TabSeparated(1 << 12);
  private final ExecutorService eventsInserter = Executors.newSingleThreadExecutor(task -> {
    Thread inserter = new Thread(task, "clickhouse-writer-events");
    inserter.setDaemon(true);
    return inserter;
  });

  ClickHouseWriter(StreamConfig config, ClickHouse clickHouse, Clock clock) {
    this.config = config;
    this.clickHouse = clickHouse;
    this.clock = clock;
    this.generations = new StreamGenerations(config, clickHouse);
    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
    props.put(ConsumerConfig.GROUP_ID_CONFIG, group(config.applicationId()));
    // Only records of committed Streams transactions: an aborted attempt must never reach ClickHouse.
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    // Not "earliest": that would also apply, silently, when records the writer had not read yet were deleted by
    // retention. poll() reports both cases instead (see pollRecords): a partition never read starts at its beginning,
    // deleted records are an error in the log and a metric.
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "none");
    props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, config.writerBatchRows());
    props.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 10_000);
    // The rollups topic is the rollup store's changelog, which Kafka Streams creates with the events topic's
    // partition count; a broker creating it first on this subscription would give it the broker's default count.
    props.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
    this.consumerProperties = props;
    this.thread = new Thread(this, "clickhouse-writer");
  }

  /** The writer's consumer group: closing days reads its committed offsets on the rollups topic. */
  static String group(String applicationId) {
    return applicationId + "-clickhouse-writer";
  }

  void start() {
    thread.start();
  }

  boolean healthy() {
    return healthy && !recovering && thread.isAlive();
  }

  /** Whether the writer thread runs (it ends only on close, or on an Error such as running out of memory). */
  boolean alive() {
    return thread.isAlive() || !running;
  }

  /** How many times the writer replaced its consumer after a failure. */
  long restarts() {
    return restarts;
  }

  long rowsWritten() {
    return rowsWritten;
  }

  long insertFailures() {
    return insertFailures;
  }

  /** How many times a partition's next records had been deleted before the writer read them. */
  long partitionsWithDeletedRecords() {
    return partitionsWithDeletedRecords;
  }

  @Override
  public void run() {
    long backoff = FIRST_RESTART_BACKOFF.toMillis();
    try {
      ensureTables();
      shardBases = generations.writerShardBases(() -> running);
      if (shardBases == null) {
        return;
      }
      List<String> topics = new ArrayList<>(shardBases.keySet());
      topics.add(config.rawEventsTopic());
      while (running) {
        // Keys stay bytes: rollup keys go into the rows as they are (no decoding only to encode again), and the raw
        // topic's keys are not needed at all.
        consumer = new KafkaConsumer<>(consumerProperties, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        try {
          consumer.subscribe(topics);
          while (running) {
            Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
            List<ConsumerRecord<byte[], byte[]>> batch = nextBatch(offsets);
            if (!batch.isEmpty()) {
              writeUntilDone(batch);
              commit(offsets);
              backoff = FIRST_RESTART_BACKOFF.toMillis();
            }
            if (recovering && !consumer.assignment().isEmpty()) {
              recovering = false;
              LOG.info("the ClickHouse writer resumed with partitions {}", consumer.assignment());
            }
            maybeDropOldPartitions();
          }
        } catch (RuntimeException e) {
          if (!running) {
            return;
          }
          recovering = true;
          restarts++;
          LOG.error("the ClickHouse writer failed; a new consumer resumes from the committed offsets in {} ms",
              backoff, e);
        } finally {
          closeConsumer();
        }
        sleepWhileRunning(backoff);
        backoff = Math.min(backoff * 2, MAX_RESTART_BACKOFF.toMillis());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void closeConsumer() {
    try {
      // Bounded: with the broker away, leaving the group would otherwise wait the default 30 s.
      consumer.close(CloseOptions.timeout(Duration.ofSeconds(5)));
    } catch (RuntimeException e) {
      LOG.warn("closing the writer's consumer failed; a new one replaces it anyway", e);
    }
  }

  private void sleepWhileRunning(long millis) throws InterruptedException {
    long end = System.nanoTime() + millis * 1_000_000;
    while (running && System.nanoTime() < end) {
      Thread.sleep(Math.min(100, Math.max(1, (end - System.nanoTime()) / 1_000_000)));
    }
  }

  /** Applies the migrations, retrying while ClickHouse is unreachable. */
  private void ensureTables() throws InterruptedException {
    long backoff = 100;
    while (running) {
      try {
        List<String> applied = Migrations.apply(clickHouse);
        LOG.info("ClickHouse database {}: migrations applied now: {}", clickHouse.database(), applied);
        healthy = true;
        return;
      } catch (ClickHouseException e) {
        healthy = false;
        LOG.warn("cannot prepare the ClickHouse tables, retrying in {} ms: {}", backoff, e.getMessage());
        Thread.sleep(backoff);
        backoff = Math.min(backoff * 2, MAX_BACKOFF.toMillis());
      }
    }
  }

  /**
   * Records until the batch is full or the oldest record waited long enough; {@code offsets} receives, per partition,
   * the offset after the batch's last record of it.
   */
  private List<ConsumerRecord<byte[], byte[]>> nextBatch(Map<TopicPartition, OffsetAndMetadata> offsets) {
    List<ConsumerRecord<byte[], byte[]>> batch = new ArrayList<>();
    long deadline = 0;
    while (running) {
      long wait = batch.isEmpty() ? 200 : Math.max(1, (deadline - System.nanoTime()) / 1_000_000);
      ConsumerRecords<byte[], byte[]> polled = pollRecords(Duration.ofMillis(wait));
      for (TopicPartition partition : polled.partitions()) {
        List<ConsumerRecord<byte[], byte[]>> records = polled.records(partition);
        batch.addAll(records);
        offsets.put(partition, new OffsetAndMetadata(records.get(records.size() - 1).offset() + 1));
      }
      if (batch.isEmpty()) {
        return batch;
      }
      if (deadline == 0) {
        deadline = System.nanoTime() + config.writerMaxWait().toNanos();
      }
      if (batch.size() >= config.writerBatchRows() || System.nanoTime() >= deadline) {
        return batch;
      }
    }
    return batch;
  }

  private void writeUntilDone(List<ConsumerRecord<byte[], byte[]>> records) throws InterruptedException {
    // Within a batch only the newest totals of a group and shard matter; older versions would lose to them anyway.
    Map<Shard, Totals> latest = new HashMap<>();
    events.clear();
    int eventRows = 0;
    for (ConsumerRecord<byte[], byte[]> record : records) {
      Integer shardBase = shardBases.get(record.topic());
      if (shardBase != null) {
        if (record.value() != null) {
          latest.merge(new Shard(Bytes.wrap(record.key()), shardBase + record.partition()),
              Totals.fromBytes(record.value()), (a, b) -> a.version() >= b.version() ? a : b);
        }
      } else {
        // The raw topic holds each event's row, already in TabSeparated.
        byte[] row = record.value();
        if (row == null || row.length == 0 || row[row.length - 1] != '\n') {
          // Inserting it would glue it to the next row; stopping here keeps the backlog intact in Kafka.
          throw new IllegalStateException("raw topic record " + record.topic() + "/" + record.partition() + "@"
              + record.offset() + " is not a TabSeparated row (written by an older usage-stream?)");
        }
        events.rows(row);
        eventRows++;
      }
    }
    String updatedAt = UPDATED_AT.format(clock.instant());
    rows.clear();
    hashes.clear();
    // Many rollups share an (account, api key); each pair is written once.
    Set<Bytes> pairs = new HashSet<>();
    for (Map.Entry<Shard, Totals> rollup : latest.entrySet()) {
      byte[] group = rollup.getKey().group().get();
      Rollup.appendRow(rows, group, rollup.getKey().shard(), rollup.getValue(), updatedAt);
      byte[] pair = Rollup.apiKeyPair(group);
      if (pairs.add(Bytes.wrap(pair))) {
        Rollup.appendApiKeyRow(hashes, pair);
      }
    }
    long backoff = 100;
    boolean eventsDone = eventRows == 0;
    boolean hashesDone = pairs.isEmpty();
    boolean rollupsDone = latest.isEmpty();
    while (running) {
      // Each insert is idempotent, so after a failure only what did not succeed is repeated. usage_events goes in on
      // a thread of its own while the other two go in here: ClickHouse parses them on both cores, and the batch
      // takes as long as the longer of the two instead of their sum.
      Future<?> eventsInsert = eventsDone ? null : eventsInserter.submit(
          () -> clickHouse.insertTabSeparated("usage_events", RawEventRow.COLUMNS, events.inputStream()));
      ClickHouseException failure = null;
      try {
        // The key record before the rollups: a reader that sees a key's rows can also find the key.
        if (!hashesDone) {
          clickHouse.insertTabSeparated("api_key_hashes", API_KEY_HASH_COLUMNS, hashes.inputStream());
          hashesDone = true;
        }
        if (!rollupsDone) {
          clickHouse.insertTabSeparated("usage_daily", Rollup.COLUMNS, rows.inputStream());
          rollupsDone = true;
        }
      } catch (ClickHouseException e) {
        failure = e;
      }
      if (eventsInsert != null) {
        try {
          eventsInsert.get();
          eventsDone = true;
        } catch (ExecutionException e) {
          if (!(e.getCause() instanceof ClickHouseException insertFailure)) {
            throw new IllegalStateException("inserting into usage_events failed", e.getCause());
          }
          failure = failure == null ? insertFailure : failure;
        }
      }
      if (failure == null) {
        rowsWritten += latest.size() + eventRows;
        healthy = true;
        return;
      }
      healthy = false;
      insertFailures++;
      LOG.warn("ClickHouse insert failed, retrying in {} ms: {}", backoff, failure.getMessage());
      // Keep the group membership alive without fetching more while we wait. A rebalance inside this poll can
      // hand us partitions that are not paused: whatever it returns is put back, never dropped, or its offsets
      // would be committed with the next batch without ever reaching ClickHouse.
      consumer.pause(consumer.assignment());
      rewind(pollRecords(Duration.ofMillis(backoff)));
      backoff = Math.min(backoff * 2, MAX_BACKOFF.toMillis());
    }
    throw new WakeupException();
  }

  /**
   * {@code consumer.poll}, resolving positions the consumer cannot resume from: a partition without a committed
   * offset (first start) starts at its beginning; a committed offset whose records are gone (deleted by retention
   * before being read, or a recreated topic) is logged as an error and counted, and the partition restarts at its
   * earliest record. reconcile shows what the deleted records held.
   */
  private ConsumerRecords<byte[], byte[]> pollRecords(Duration timeout) {
    try {
      return consumer.poll(timeout);
    } catch (NoOffsetForPartitionException e) {
      consumer.seekToBeginning(e.partitions());
      return ConsumerRecords.empty();
    } catch (OffsetOutOfRangeException e) {
      partitionsWithDeletedRecords += e.partitions().size();
      healthy = false;
      LOG.error("records the writer had not read were deleted from {} (next offsets it expected: {}); they are"
          + " missing from ClickHouse: run reconcile for the affected days", e.partitions(),
          e.offsetOutOfRangePartitions());
      consumer.seekToBeginning(e.partitions());
      return ConsumerRecords.empty();
    }
  }

  /** Seeks every partition of {@code records} back to its first returned record, so they are read again. */
  private void rewind(ConsumerRecords<byte[], byte[]> records) {
    for (TopicPartition partition : records.partitions()) {
      consumer.seek(partition, records.records(partition).get(0).offset());
    }
  }

  /**
   * A group as counted by the task of one partition of the events topic in one generation: the usage_daily row's
   * shard, the generation's shard base plus the partition.
   */
  private record Shard(Bytes group, int shard) {}

  private void commit(Map<TopicPartition, OffsetAndMetadata> offsets) {
    consumer.resume(consumer.paused());
    // Partitions a rebalance took away meanwhile are left to their new owner.
    offsets.keySet().retainAll(consumer.assignment());
    try {
      consumer.commitSync(offsets, config.writerCommitTimeout());
    } catch (CommitFailedException e) {
      // Lost the partitions in a rebalance: their new owner re-reads and re-inserts the same rows, which is harmless.
      LOG.info("offset commit after a rebalance failed; the rows will be written again: {}", e.getMessage());
    }
  }

  /** Retention of usage_events: drops day partitions older than RAW_RETENTION_DAYS (18.16 has no TTL). */
  private void maybeDropOldPartitions() {
    if (System.nanoTime() < nextRetentionNanos) {
      return;
    }
    nextRetentionNanos = System.nanoTime() + RETENTION_EVERY.toNanos();
    try {
      dropPartitionsBefore(clickHouse, LocalDate.now(clock).minusDays(config.rawRetentionDays() - 1L));
    } catch (ClickHouseException e) {
      LOG.warn("retention of usage_events failed, retrying later: {}", e.getMessage());
      nextRetentionNanos = System.nanoTime() + Duration.ofMinutes(1).toNanos();
    }
  }

  /** Drops every usage_events partition of a day before {@code firstKept}; returns the days dropped. */
  static List<LocalDate> dropPartitionsBefore(ClickHouse clickHouse, LocalDate firstKept) {
    List<LocalDate> dropped = new ArrayList<>();
    for (var row : clickHouse.query("SELECT DISTINCT partition_id, toString(min_date) AS day FROM system.parts"
        + " WHERE active AND database = " + SqlLiteral.string(clickHouse.database()) + " AND table = 'usage_events'"
        + " AND max_date < " + SqlLiteral.date(firstKept))) {
      clickHouse.execute("ALTER TABLE usage_events DROP PARTITION ID "
          + SqlLiteral.string(row.get("partition_id").asText()));
      dropped.add(LocalDate.parse(row.get("day").asText()));
    }
    if (!dropped.isEmpty()) {
      LOG.info("usage_events retention: dropped the partitions of {}", dropped);
    }
    return dropped;
  }

  @Override
  public void close() {
    running = false;
    KafkaConsumer<byte[], byte[]> current = consumer;
    if (current != null) {
      current.wakeup();
    }
    try {
      thread.join(Duration.ofSeconds(30).toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    eventsInserter.shutdownNow();
  }
}
