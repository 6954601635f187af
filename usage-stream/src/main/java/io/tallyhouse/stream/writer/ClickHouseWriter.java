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
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
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
 * WriterSettings#maxWait} after its first record, and not before the previous batch's insert has
 * ended: the writer thread, which alone uses the consumer, reads the next batch while a second
 * thread renders and inserts the previous one (at most one insert in flight). A batch's offsets are
 * committed, in batch order, only after every insert of the batch succeeded. While ClickHouse is
 * down the insert thread retries with backoff, the next batch fills up to its row bound and then
 * stops fetching, and the backlog stays in Kafka. Any other failure (a commit that timed out while
 * the broker was away, a record it cannot render) closes the consumer; after a backoff a new one
 * resumes from the committed offsets, which re-inserts at most the batches whose commit was lost
 * (inserts are idempotent).
 */
public final class ClickHouseWriter implements Runnable, AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(ClickHouseWriter.class);
  private static final Duration MAX_BACKOFF = Duration.ofSeconds(5);
  private static final Duration FIRST_RESTART_BACKOFF = Duration.ofSeconds(1);
  private static final Duration MAX_RESTART_BACKOFF = Duration.ofSeconds(30);

  /** How long an empty poll waits before the writer looks at its state again. */
  private static final Duration IDLE_POLL = Duration.ofMillis(200);

  /**
   * How long a poll waits at most while the previous batch is being inserted: the writer notices
   * the insert's end this late at most.
   */
  private static final Duration INSERT_CHECK = Duration.ofMillis(20);

  private static final Duration CLOSE_WAIT = Duration.ofSeconds(30);

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
  // Both used only on the insert thread, one batch after the other: the writer thread reads the
  // next batch as records, so a single set of rendered rows is never shared by two batches.
  private final BatchRows rows = new BatchRows();
  private final BatchInsert insert;

  /**
   * Renders and inserts one batch at a time while the writer thread, which alone uses the consumer,
   * reads the next.
   */
  private final ExecutorService inserter =
      Executors.newSingleThreadExecutor(
          task -> {
            Thread inserting = new Thread(task, "clickhouse-writer-insert");
            inserting.setDaemon(true);
            return inserting;
          });

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
        InFlight inFlight = null;
        try {
          Gathering next = new Gathering();
          while (running) {
            gather(next, inFlight);
            health.assignedPartitions(source.assignment().size());
            if (inFlight != null && inFlight.insert.isDone()) {
              inFlight.awaitInserted();
              source.commit(inFlight.offsets);
              inFlight = null;
              backoff = FIRST_RESTART_BACKOFF.toMillis();
            }
            if (inFlight == null && next.closed()) {
              source.resumeAll();
              List<ConsumerRecord<byte[], byte[]>> records = next.records;
              inFlight =
                  new InFlight(inserter.submit(() -> insertUntilDone(records)), next.offsets);
              next = new Gathering();
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
          // Not committed, so the new consumer (or the next start) reads its records again.
          if (inFlight != null) {
            inFlight.insert.cancel(true);
          }
          source.close();
          health.assignedPartitions(0);
        }
        // The new source starts at the committed offsets: the batches whose commit failed or never
        // happened are read and inserted again, which is harmless because every insert is
        // idempotent (DESIGN.md: a rollup row is complete totals at a version in a
        // ReplacingMergeTree(version), a distinct event collapses with its copy in usage_events).
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

  /** The batch the writer is reading: its records and, per partition, the offset after them. */
  private final class Gathering {
    final List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
    final Map<TopicPartition, Long> offsets = new HashMap<>();
    private long deadline;

    boolean full() {
      return records.size() >= settings.batchRows();
    }

    /** Whether it holds {@code WRITER_BATCH_ROWS} records or its first one waited long enough. */
    boolean closed() {
      return !records.isEmpty() && (full() || ticker.nanoTime() >= deadline);
    }

    void add(List<ConsumerRecord<byte[], byte[]>> polled) {
      if (polled.isEmpty()) {
        return;
      }
      if (records.isEmpty()) {
        deadline = ticker.nanoTime() + settings.maxWait().toNanos();
      }
      records.addAll(polled);
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
    }

    /** How long a poll for this batch may wait: until its deadline, or the idle poll if empty. */
    long waitMillis() {
      return records.isEmpty()
          ? IDLE_POLL.toMillis()
          : Math.max(0, (deadline - ticker.nanoTime()) / 1_000_000);
    }
  }

  /** The batch handed to the insert thread, and the offsets to commit once its insert succeeded. */
  private record InFlight(Future<?> insert, Map<TopicPartition, Long> offsets) {

    /** Throws what made the insert thread give up on the batch (a record it cannot render). */
    void awaitInserted() {
      try {
        insert.get();
      } catch (ExecutionException e) {
        if (e.getCause() instanceof RuntimeException failure) {
          throw failure;
        }
        if (e.getCause() instanceof Error error) {
          throw error;
        }
        throw new IllegalStateException("the insert thread failed", e.getCause());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new WakeupException();
      }
    }
  }

  /**
   * One poll for the batch being read. While the previous batch is still being inserted, polls wait
   * at most {@link #INSERT_CHECK} so that its end is noticed soon, and a full batch stops fetching:
   * the consumer polls paused, only to stay in its group.
   */
  private void gather(Gathering next, InFlight inFlight) {
    boolean inserting = inFlight != null && !inFlight.insert.isDone();
    if (next.full()) {
      if (inserting) {
        // A rebalance inside this poll can hand over partitions that are not paused: whatever it
        // returns is put back, never dropped, or its offsets would be committed with the next
        // batch without ever reaching ClickHouse.
        source.pauseAll();
        rewind(source.poll(INSERT_CHECK));
      }
      return;
    }
    long wait = next.waitMillis();
    if (inserting) {
      wait = wait == 0 ? INSERT_CHECK.toMillis() : Math.min(wait, INSERT_CHECK.toMillis());
    }
    next.add(source.poll(Duration.ofMillis(Math.max(1, wait))));
  }

  /**
   * On the insert thread: renders {@code records} and inserts them, retrying with backoff while
   * ClickHouse fails; ends by an InterruptedException when the writer gives the batch up.
   */
  private Void insertUntilDone(List<ConsumerRecord<byte[], byte[]>> records)
      throws InterruptedException {
    rows.fill(records, shardBases, UPDATED_AT.format(clock.instant()));
    insert.begin(rows);
    long backoff = 100;
    while (true) {
      try {
        insert.attempt();
        health.written(rows.rollupRows + rows.eventRows);
        freshness.visible(
            DistinctEventRow.micros(clock.instant()), rows.receivedAtMicros, rows.eventRows);
        return null;
      } catch (ClickHouseException failure) {
        if (Thread.currentThread().isInterrupted()) {
          throw new InterruptedException("the batch was given up during its insert");
        }
        health.insertFailed();
        LOG.warn("ClickHouse insert failed, retrying in {} ms: {}", backoff, failure.getMessage());
      }
      ticker.sleep(backoff);
      backoff = Math.min(backoff * 2, MAX_BACKOFF.toMillis());
    }
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

  /**
   * Stops reading and gives up the batch being inserted, if any (not committed: the next consumer
   * of the group reads it again); waits for both threads, 30 s at most.
   */
  @Override
  public void close() {
    running = false;
    RecordSource current = source;
    if (current != null) {
      current.wakeup();
    }
    long deadline = System.nanoTime() + CLOSE_WAIT.toNanos();
    try {
      thread.join(CLOSE_WAIT.toMillis());
      inserter.shutdownNow();
      if (!inserter.awaitTermination(
          Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
        LOG.warn("the ClickHouse writer's insert thread did not end within {}", CLOSE_WAIT);
      }
      insert.close(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
