package io.tallyhouse.stream.writer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.distribution.CountAtBucket;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.tallyhouse.testkit.Await;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The writer's batching, retry and rewind, over twins of its consumer ({@link SourceTwin}) and of
 * ClickHouse's inserts ({@link InsertsTwin}), in time that moves only when the writer waits ({@link
 * TickerTwin}). The same writer against a real broker and ClickHouse:
 * WriterDeletedRecordsIntegrationTest, StreamFailureIntegrationTest.
 */
class ClickHouseWriterTest {

  private static final String DISTINCT = "distinct-events";
  private static final org.apache.kafka.common.TopicPartition P0 =
      new org.apache.kafka.common.TopicPartition(DISTINCT, 0);
  private static final org.apache.kafka.common.TopicPartition P1 =
      new org.apache.kafka.common.TopicPartition(DISTINCT, 1);
  private static final Duration WAIT = Duration.ofSeconds(60);

  private final TickerTwin ticker = new TickerTwin();
  private ClickHouseWriter writer;
  private SourceTwin source;
  private InsertsTwin inserts;
  private WriterHealth health;
  private final SimpleMeterRegistry metrics = new SimpleMeterRegistry();
  private Clock clock = Clock.fixed(Instant.EPOCH, ZoneOffset.UTC);

  private void start(int batchRows, Duration maxWait, int maxPollRecords) {
    source = new SourceTwin(ticker, maxPollRecords);
    inserts = new InsertsTwin(ticker, () -> source.committed());
    health = new WriterHealth();
    writer =
        new ClickHouseWriter(
            new WriterSettings(batchRows, maxWait, Duration.ofSeconds(60)),
            running -> Map.of(),
            source,
            inserts,
            DISTINCT,
            clock,
            ticker,
            health,
            new Freshness(metrics));
  }

  @AfterEach
  void stop() {
    if (writer != null) {
      writer.close();
    }
  }

  private static String[] events(String prefix, int from, int to) {
    return IntStream.rangeClosed(from, to).mapToObj(i -> prefix + i).toArray(String[]::new);
  }

  @Test
  void aBatchIsInsertedOnceItHoldsWriterBatchRowsRecordsWithoutWaitingForWriterMaxWait()
      throws Exception {
    start(10, Duration.ofHours(1), 5);
    source.append(P0, events("e", 1, 20));
    writer.start();

    Await.until("two inserts", () -> inserts.attempts("usage_events").size() == 2, WAIT);
    List<InsertsTwin.Attempt> attempts = inserts.attempts("usage_events");
    assertEquals(
        List.of(events("e", 1, 10)), List.of(attempts.get(0).rows().toArray(String[]::new)));
    assertEquals(
        List.of(events("e", 11, 20)), List.of(attempts.get(1).rows().toArray(String[]::new)));
    Await.until(
        "the second batch committed",
        () -> Long.valueOf(20).equals(source.committed().get(P0)),
        WAIT);
    assertTrue(
        ticker.nanoTime() - attempts.get(0).atNanos() < Duration.ofHours(1).toNanos(),
        "full batches do not wait for WRITER_MAX_WAIT");
  }

  @Test
  void aBatchThatStaysSmallIsInsertedAfterWriterMaxWait() throws Exception {
    Duration maxWait = Duration.ofMillis(250);
    start(1_000, maxWait, 1_000);
    source.append(P0, events("e", 1, 3));
    writer.start();

    Await.until("an insert", () -> inserts.attempts("usage_events").size() == 1, WAIT);
    long firstPolled = source.firstPolledAtNanos();
    InsertsTwin.Attempt insert = inserts.attempts("usage_events").get(0);
    assertEquals(List.of("e1", "e2", "e3"), insert.rows());
    assertTrue(
        insert.atNanos() - firstPolled >= maxWait.toNanos(),
        "inserted "
            + (insert.atNanos() - firstPolled) / 1_000_000
            + " ms after the first record, not after "
            + maxWait.toMillis());
    Await.until("committed", () -> Long.valueOf(3).equals(source.committed().get(P0)), WAIT);
  }

  @Test
  void aFailedInsertIsRetriedAndNothingIsCommittedBeforeItSucceeded() throws Exception {
    start(10, Duration.ofMillis(250), 10);
    source.append(P0, events("e", 1, 5));
    inserts.failNext("usage_events", 3);
    writer.start();

    Await.until("committed", () -> Long.valueOf(5).equals(source.committed().get(P0)), WAIT);
    List<InsertsTwin.Attempt> attempts = inserts.attempts("usage_events");
    assertEquals(
        List.of(true, true, true, false),
        attempts.stream().map(InsertsTwin.Attempt::failed).toList());
    assertTrue(
        attempts.stream().allMatch(a -> a.committedBefore().isEmpty()),
        "no offset was committed before the insert succeeded: " + attempts);
    assertTrue(
        attempts.stream().allMatch(a -> a.rows().equals(List.of(events("e", 1, 5)))),
        "every retry inserts the same rows");
    assertEquals(3, health.insertFailures());
    assertEquals(5, health.rowsWritten());
  }

  @Test
  void rowsAnAbandonedInsertStillReadsAreNotOverwrittenByTheNextBatch() throws Exception {
    start(5, Duration.ofMillis(250), 5);
    source.append(P0, events("e", 1, 5));
    inserts.abandonNext("usage_events");
    writer.start();
    Await.until("first committed", () -> Long.valueOf(5).equals(source.committed().get(P0)), WAIT);

    source.append(P0, events("e", 6, 10));
    Await.until("next committed", () -> Long.valueOf(10).equals(source.committed().get(P0)), WAIT);

    assertEquals(
        List.of(events("e", 1, 5)),
        inserts.readAbandoned(),
        "the timed-out request of the first batch still streams the first batch's rows");
    assertEquals(List.of(events("e", 1, 10)), inserts.inserted("usage_events"));
  }

  @Test
  void freshnessIsEachEventsAgeWhenTheInsertOfItsRowSucceededNotWhenItFailed() throws Exception {
    Instant now = Instant.parse("2026-11-30T12:00:00Z");
    clock = Clock.fixed(now, ZoneOffset.UTC);
    start(10, Duration.ofMillis(250), 10);
    long nowMicros = now.getEpochSecond() * 1_000_000;
    source.append(
        P0,
        "row-a\t" + (nowMicros - 400_000),
        "row-b\t" + (nowMicros - 3_000_000),
        "a row without a received time",
        "row-c\t" + (nowMicros + 1_000_000));
    inserts.failNext("usage_events", 2);
    writer.start();

    Await.until("committed", () -> Long.valueOf(4).equals(source.committed().get(P0)), WAIT);
    Timer freshness = metrics.get("stream_freshness").timer();
    assertEquals(3, freshness.count(), "once per event with a received time, failed inserts aside");
    assertEquals(3.4, freshness.totalTime(TimeUnit.SECONDS), 1e-9, "a clock behind counts as 0");
    Map<Double, Double> cumulative = new HashMap<>();
    for (CountAtBucket bucket : freshness.takeSnapshot().histogramCounts()) {
      cumulative.put(bucket.bucket(TimeUnit.SECONDS), bucket.count());
    }
    assertEquals(2.0, cumulative.get(0.5));
    assertEquals(2.0, cumulative.get(2.0));
    assertEquals(3.0, cumulative.get(5.0));
    assertEquals(3.0, metrics.get("stream_freshness_last_seconds").gauge().value());
  }

  @Test
  void recordsARebalanceHandsOverWhileAnInsertIsRetriedAreReadAgainNotSkipped() throws Exception {
    start(10, Duration.ofMillis(250), 10);
    source.append(P0, events("e", 1, 5));
    inserts.failNext("usage_events", Integer.MAX_VALUE);
    writer.start();
    Await.until("the first failed insert", () -> !inserts.attempts("usage_events").isEmpty(), WAIT);

    // While the writer waits to retry with its partitions paused, a rebalance gives it P1, whose
    // records the
    // waiting poll returns: they belong to no batch yet, so the writer must put them back.
    source.append(P1, events("f", 1, 3));
    source.assignDuringPausedPoll(P1);
    Await.until("the rebalance", source::rebalanced, WAIT);
    inserts.failNext("usage_events", 0);

    Await.until(
        "both partitions committed",
        () ->
            Long.valueOf(5).equals(source.committed().get(P0))
                && Long.valueOf(3).equals(source.committed().get(P1)),
        WAIT);
    List<String> inserted = inserts.inserted("usage_events");
    assertTrue(
        inserted.containsAll(List.of(events("f", 1, 3))),
        "P1's records were inserted: " + inserted);
    assertEquals(8, inserted.size(), "each record once: " + inserted);
  }

  @Test
  void afterAFailedCommitTheWriterResumesFromTheCommittedOffsetsAndInsertsTheBatchAgain()
      throws Exception {
    start(10, Duration.ofMillis(250), 10);
    source.append(P0, events("e", 1, 5));
    source.failNextCommits(1);
    writer.start();

    Await.until("committed", () -> Long.valueOf(5).equals(source.committed().get(P0)), WAIT);
    // The first consumer's commit failed after its insert: the next consumer starts at the
    // committed offsets (none:
    // the beginning) and inserts the same rows again. Harmless: usage_events collapses copies of a
    // row, and a rollup
    // row is complete totals at a version that ReplacingMergeTree(version) keeps once (DESIGN.md).
    List<InsertsTwin.Attempt> attempts = inserts.attempts("usage_events");
    assertEquals(2, attempts.size());
    assertEquals(attempts.get(0).rows(), attempts.get(1).rows());
    assertEquals(2, source.opened(), "the failed consumer was replaced");
    assertTrue(source.allClosedButTheLast());
    assertEquals(1, health.restarts());
  }
}
