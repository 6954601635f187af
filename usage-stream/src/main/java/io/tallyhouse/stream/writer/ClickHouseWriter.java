package io.tallyhouse.stream.writer;

import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.ClickHouseException;
import io.tallyhouse.common.clickhouse.SchemaLayout;
import io.tallyhouse.common.clickhouse.SchemaVersion;
import io.tallyhouse.common.config.KafkaClientSettings;
import io.tallyhouse.stream.rows.DistinctEventRow;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Copies committed rollups and distinct events into ClickHouse (the sequence and its guarantee:
 * DESIGN.md). A batch closes at {@link WriterSettings#batchRows} records or {@link
 * WriterSettings#maxWait} after its first record; its offsets are committed only after every insert
 * of the batch succeeded. While ClickHouse is down the writer retries with backoff and the backlog
 * stays in Kafka. Any other failure (a commit that timed out while the broker was away, a record it
 * cannot write) closes the consumer; after a backoff a new one resumes from the committed offsets,
 * which re-inserts at most the batch whose commit was lost (inserts are idempotent).
 */
public final class ClickHouseWriter implements Runnable, AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(ClickHouseWriter.class);
  private static final Duration MAX_BACKOFF = Duration.ofSeconds(5);
  private static final Duration FIRST_RESTART_BACKOFF = Duration.ofSeconds(1);
  private static final Duration MAX_RESTART_BACKOFF = Duration.ofSeconds(30);

  /** How long an empty poll waits before the writer looks at its state again. */
  private static final Duration IDLE_POLL = Duration.ofMillis(200);

  private static final DateTimeFormatter UPDATED_AT =
      DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss").withZone(ZoneOffset.UTC);

  /**
   * What the writer waits for before it reads: its tables, and the rollups topics with their shard
   * bases.
   */
  @FunctionalInterface
  public interface Preparation {
    /**
     * The rollups topics to read and the usage_daily shard of each one's partition 0 (DESIGN.md,
     * "Generations"); null when {@code running} turned false first.
     */
    Map<String, Integer> shardBases(BooleanSupplier running) throws InterruptedException;
  }

  private final WriterSettings settings;
  private final Preparation preparation;
  private final RecordSource.Opener opener;
  private final String distinctEventsTopic;
  private final Clock clock;
  private final Ticker ticker;
  private final WriterHealth health;
  private final Freshness freshness;
  private BatchRows rows = new BatchRows();

  /**
   * Whether an insert of the last batch ended without ClickHouse's answer (a timeout, a failure):
   * the client may still be reading that batch's rows from their buffers, so the next batch is
   * rendered into new ones instead of overwriting them under it.
   */
  private boolean rowsMayStillBeRead;

  private final BatchInsert insert;
  private final Thread thread;
  private Map<String, Integer> shardBases;
  // Replaced after a failure; volatile for close(), which wakes the current one up.
  private volatile RecordSource source;
  private volatile boolean running = true;

  /**
   * @param preparation what to wait for before reading
   * @param opener opens a consumer of the writer's group, reading on from the committed offsets
   * @param inserts where the rows go
   * @param distinctEventsTopic read besides the rollups topics; its records are usage_events rows
   * @param freshness told about the events of every batch inserted
   */
  public ClickHouseWriter(
      WriterSettings settings,
      Preparation preparation,
      RecordSource.Opener opener,
      TableInserts inserts,
      String distinctEventsTopic,
      Clock clock,
      Ticker ticker,
      WriterHealth health,
      Freshness freshness) {
    this.settings = settings;
    this.preparation = preparation;
    this.opener = opener;
    this.insert = new BatchInsert(inserts);
    this.distinctEventsTopic = distinctEventsTopic;
    this.clock = clock;
    this.ticker = ticker;
    this.health = health;
    this.freshness = freshness;
    this.thread = new Thread(this, "clickhouse-writer");
  }

  /**
   * The writer of the stream {@code applicationId}: a Kafka consumer of its own group, inserting
   * into {@code clickHouse} once the schema version is checked and {@code shardBases} answered,
   * reporting its freshness to {@code freshness}.
   */
  public static ClickHouseWriter of(
      String applicationId,
      KafkaClientSettings kafka,
      String distinctEventsTopic,
      WriterSettings settings,
      ClickHouse clickHouse,
      Preparation shardBases,
      Freshness freshness) {
    WriterHealth health = new WriterHealth();
    AtomicReference<SchemaLayout> layout = new AtomicReference<>();
    Preparation preparation =
        running -> {
          SchemaLayout checked = awaitSchema(clickHouse, health, running);
          if (checked == null) {
            return null;
          }
          layout.set(checked);
          return shardBases.shardBases(running);
        };
    return new ClickHouseWriter(
        settings,
        preparation,
        KafkaRecordSource.opener(kafka, group(applicationId), settings, health),
        (table, columns, rows) ->
            clickHouse.insertTabSeparated(table, columns, rows, layout.get().insertSettings()),
        distinctEventsTopic,
        Clock.systemUTC(),
        Ticker.SYSTEM,
        health,
        freshness);
  }

  /** The writer's consumer group: closing days reads its committed offsets on the rollups topic. */
  public static String group(String applicationId) {
    return applicationId + "-clickhouse-writer";
  }

  public void start() {
    thread.start();
  }

  public WriterHealth health() {
    return health;
  }

  /**
   * The metrics of the writer's current consumer (records-lag per partition among them); empty
   * while it has none.
   */
  public Map<MetricName, ? extends Metric> consumerMetrics() {
    RecordSource current = source;
    return current == null ? Map.of() : current.metrics();
  }

  /**
   * Whether the writer keeps up: its thread runs, its last insert succeeded and it is not
   * recovering.
   */
  public boolean healthy() {
    return health.ok() && thread.isAlive();
  }

  /**
   * Whether the writer thread runs (it ends only on close, or on an Error such as running out of
   * memory).
   */
  public boolean alive() {
    return thread.isAlive() || !running;
  }

  @Override
  public void run() {
    long backoff = FIRST_RESTART_BACKOFF.toMillis();
    try {
      shardBases = preparation.shardBases(() -> running);
      if (shardBases == null) {
        return;
      }
      List<String> topics = new ArrayList<>(shardBases.keySet());
      topics.add(distinctEventsTopic);
      while (running) {
        source = opener.open(topics);
        try {
          while (running) {
            Map<TopicPartition, Long> offsets = new HashMap<>();
            List<ConsumerRecord<byte[], byte[]>> batch = nextBatch(offsets);
            health.assignedPartitions(source.assignment().size());
            if (!batch.isEmpty()) {
              writeUntilDone(batch);
              source.resumeAll();
              source.commit(offsets);
              backoff = FIRST_RESTART_BACKOFF.toMillis();
            }
            if (health.recovering() && !source.assignment().isEmpty()) {
              health.recovering(false);
              LOG.info("the ClickHouse writer resumed with partitions {}", source.assignment());
            }
          }
        } catch (RuntimeException e) {
          if (!running) {
            return;
          }
          health.restarted();
          LOG.error(
              "the ClickHouse writer failed; a new consumer resumes from the committed offsets in {} ms",
              backoff,
              e);
        } finally {
          source.close();
          health.assignedPartitions(0);
        }
        // The new source starts at the committed offsets: the batch whose commit failed is read and
        // inserted again,
        // which is harmless because every insert is idempotent (DESIGN.md: a rollup row is complete
        // totals at a
        // version in a ReplacingMergeTree(version), a distinct event collapses with its copy in
        // usage_events).
        sleepWhileRunning(backoff);
        backoff = Math.min(backoff * 2, MAX_RESTART_BACKOFF.toMillis());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void sleepWhileRunning(long millis) throws InterruptedException {
    long end = ticker.nanoTime() + millis * 1_000_000;
    while (running && ticker.nanoTime() < end) {
      ticker.sleep(Math.min(100, Math.max(1, (end - ticker.nanoTime()) / 1_000_000)));
    }
  }

  /**
   * The layout of the database, once its schema version is checked (SchemaVersion), retrying while
   * ClickHouse is unreachable; null when stopped first. A database behind this build ends the
   * writer (the service's liveness then reports it): only {@code tallyhouse migrate} changes the
   * schema.
   */
  private static SchemaLayout awaitSchema(
      ClickHouse clickHouse, WriterHealth health, BooleanSupplier running)
      throws InterruptedException {
    long backoff = 100;
    while (running.getAsBoolean()) {
      try {
        SchemaLayout layout = SchemaVersion.require(clickHouse);
        LOG.info("ClickHouse database {}: schema checked ({})", clickHouse.database(), layout);
        health.healthy(true);
        return layout;
      } catch (ClickHouseException e) {
        health.healthy(false);
        LOG.warn(
            "cannot check the ClickHouse schema version, retrying in {} ms: {}",
            backoff,
            e.getMessage());
        Thread.sleep(backoff);
        backoff = Math.min(backoff * 2, MAX_BACKOFF.toMillis());
      } catch (SchemaVersion.BehindException e) {
        health.healthy(false);
        LOG.error("the ClickHouse writer stops: {}", e.getMessage());
        throw e;
      }
    }
    return null;
  }

  /**
   * Records until the batch is full or the oldest record waited long enough; {@code offsets}
   * receives, per partition, the offset after the batch's last record of it.
   */
  private List<ConsumerRecord<byte[], byte[]>> nextBatch(Map<TopicPartition, Long> offsets) {
    List<ConsumerRecord<byte[], byte[]>> batch = new ArrayList<>();
    long deadline = 0;
    while (running) {
      Duration wait =
          batch.isEmpty()
              ? IDLE_POLL
              : Duration.ofMillis(Math.max(1, (deadline - ticker.nanoTime()) / 1_000_000));
      List<ConsumerRecord<byte[], byte[]>> polled = source.poll(wait);
      batch.addAll(polled);
      // One put per run of a partition's records (a poll returns them together); the last run's
      // put holds the partition's last record.
      for (int i = 0; i < polled.size(); i++) {
        ConsumerRecord<byte[], byte[]> record = polled.get(i);
        if (i + 1 == polled.size()
            || polled.get(i + 1).partition() != record.partition()
            || !polled.get(i + 1).topic().equals(record.topic())) {
          offsets.put(new TopicPartition(record.topic(), record.partition()), record.offset() + 1);
        }
      }
      if (batch.isEmpty()) {
        return batch;
      }
      if (deadline == 0) {
        deadline = ticker.nanoTime() + settings.maxWait().toNanos();
      }
      if (batch.size() >= settings.batchRows() || ticker.nanoTime() >= deadline) {
        return batch;
      }
    }
    return batch;
  }

  private void writeUntilDone(List<ConsumerRecord<byte[], byte[]>> records)
      throws InterruptedException {
    if (rowsMayStillBeRead) {
      rows = new BatchRows();
      rowsMayStillBeRead = false;
    }
    rows.fill(records, shardBases, UPDATED_AT.format(clock.instant()));
    insert.begin(rows);
    // Cleared only when the first attempt succeeds: every insert then returned ClickHouse's answer,
    // which it sends after reading the whole body.
    rowsMayStillBeRead = true;
    long backoff = 100;
    boolean firstAttempt = true;
    while (running) {
      try {
        insert.attempt();
        rowsMayStillBeRead = !firstAttempt;
        health.written(rows.rollupRows + rows.eventRows);
        freshness.visible(
            DistinctEventRow.micros(clock.instant()), rows.receivedAtMicros, rows.eventRows);
        return;
      } catch (ClickHouseException failure) {
        firstAttempt = false;
        health.insertFailed();
        LOG.warn("ClickHouse insert failed, retrying in {} ms: {}", backoff, failure.getMessage());
      }
      // Keep the group membership alive without fetching more while we wait. A rebalance inside
      // this poll can
      // hand us partitions that are not paused: whatever it returns is put back, never dropped, or
      // its offsets
      // would be committed with the next batch without ever reaching ClickHouse.
      source.pauseAll();
      rewind(source.poll(Duration.ofMillis(backoff)));
      backoff = Math.min(backoff * 2, MAX_BACKOFF.toMillis());
    }
    throw new WakeupException();
  }

  /**
   * Seeks every partition of {@code records} back to its first returned record, so they are read
   * again.
   */
  private void rewind(List<ConsumerRecord<byte[], byte[]>> records) {
    Map<TopicPartition, Long> first = new HashMap<>();
    for (ConsumerRecord<byte[], byte[]> record : records) {
      first.putIfAbsent(new TopicPartition(record.topic(), record.partition()), record.offset());
    }
    first.forEach(source::seek);
  }

  @Override
  public void close() {
    running = false;
    RecordSource current = source;
    if (current != null) {
      current.wakeup();
    }
    try {
      thread.join(Duration.ofSeconds(30).toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    insert.close();
  }
}
