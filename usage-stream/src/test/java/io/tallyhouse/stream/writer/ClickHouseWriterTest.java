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
    start(batchRows, maxWait, maxPollRecords, Map.of());
  }

  private void start(
      int batchRows, Duration maxWait, int maxPollRecords, Map<String, Integer> shardBases) {
    source = new SourceTwin(ticker, maxPollRecords);
    inserts = new InsertsTwin(ticker, () -> source.committed());
    health = new WriterHealth();
    writer =
        new ClickHouseWriter(
            new WriterSettings(batchRows, maxWait, Duration.ofSeconds(60)),
            running -> shardBases,
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
    start(5, Duration.ofMillis(250), 10);
    source.append(P0, events("e", 1, 5));
    inserts.failNext("usage_events", Integer.MAX_VALUE);
    writer.start();
    Await.until("the first failed insert", () -> !inserts.attempts("usage_events").isEmpty(), WAIT);

    // The next batch fills up while the first one's insert is retried, and the writer then polls
    // with its partitions paused; a rebalance gives it P1, whose records that poll returns: they
    // belong to no batch yet, so the writer must put them back.
    source.append(P0, events("e", 6, 10));
    Await.until("the next batch full", () -> source.pausedPolls() > 0, WAIT);
    source.append(P1, events("f", 1, 3));
    source.assignDuringPausedPoll(P1);
    Await.until("the rebalance", source::rebalanced, WAIT);
    inserts.failNext("usage_events", 0);

    Await.until(
        "both partitions committed",
        () ->
            Long.valueOf(10).equals(source.committed().get(P0))
                && Long.valueOf(3).equals(source.committed().get(P1)),
        WAIT);
    List<String> inserted = inserts.inserted("usage_events");
    assertTrue(
        inserted.containsAll(List.of(events("f", 1, 3))),
        "P1's records were inserted: " + inserted);
    assertEquals(13, inserted.size(), "each record once: " + inserted);
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

  @Test
  void theNextBatchIsReadWhileTheInsertOfThePreviousIsHeldAndCommittedOnlyAfterIt()
      throws Exception {
    Duration maxWait = Duration.ofMillis(250);
    start(10, maxWait, 10);
    source.append(P0, events("e", 1, 10));
    InsertsTwin.Hold hold = inserts.holdNext("usage_events");
    writer.start();
    hold.awaitEntered(WAIT);

    source.append(P0, events("e", 11, 15));
    Await.until("the next batch read", () -> source.polledRecords() == 15, WAIT);
    long read = ticker.nanoTime();
    Await.until(
        "the next batch's wait over", () -> ticker.nanoTime() > read + 2 * maxWait.toNanos(), WAIT);
    assertEquals(Map.of(), source.committed(), "nothing committed while the insert is held");
    assertEquals(List.of(), inserts.attempts("usage_events"), "no second insert meanwhile");

    hold.release();
    Await.until("both committed", () -> Long.valueOf(15).equals(source.committed().get(P0)), WAIT);
    List<InsertsTwin.Attempt> attempts = inserts.attempts("usage_events");
    assertEquals(2, attempts.size(), attempts.toString());
    assertEquals(List.of(events("e", 1, 10)), List.of(attempts.get(0).rows().toArray()));
    assertEquals(List.of(events("e", 11, 15)), List.of(attempts.get(1).rows().toArray()));
    assertEquals(
        Map.of(P0, 10L),
        attempts.get(1).committedBefore(),
        "the first batch was committed after its insert returned and before the second's insert");
  }

  @Test
  void aHeldInsertLetsTheNextBatchGrowPastOneWaitUpToWriterBatchRowsAndNoFurther()
      throws Exception {
    Duration maxWait = Duration.ofMillis(250);
    start(30, maxWait, 10);
    source.append(P0, events("e", 1, 5));
    InsertsTwin.Hold hold = inserts.holdNext("usage_events");
    writer.start();
    hold.awaitEntered(WAIT);

    source.append(P0, events("f", 1, 10));
    Await.until("the next batch's first records", () -> source.polledRecords() == 15, WAIT);
    long read = ticker.nanoTime();
    Await.until(
        "the next batch's wait over", () -> ticker.nanoTime() > read + maxWait.toNanos(), WAIT);
    source.append(P0, events("f", 11, 40));
    Await.until("the next batch full", () -> source.pausedPolls() >= 3, WAIT);
    assertEquals(35, source.polledRecords(), "a full batch stops fetching");

    hold.release();
    Await.until("all committed", () -> Long.valueOf(45).equals(source.committed().get(P0)), WAIT);
    List<InsertsTwin.Attempt> attempts = inserts.attempts("usage_events");
    assertEquals(3, attempts.size(), attempts.toString());
    assertEquals(List.of(events("e", 1, 5)), List.of(attempts.get(0).rows().toArray()));
    assertEquals(
        List.of(events("f", 1, 30)),
        List.of(attempts.get(1).rows().toArray()),
        "the batch read during the held insert holds WRITER_BATCH_ROWS records");
    assertEquals(List.of(events("f", 31, 40)), List.of(attempts.get(2).rows().toArray()));
  }

  @Test
  void insertFailuresWhileTheNextBatchGathersCommitNothingBeforeSuccessAndNeitherLoseNorRepeatRows()
      throws Exception {
    start(10, Duration.ofMillis(250), 10);
    source.append(P0, events("e", 1, 10));
    inserts.failNext("usage_events", Integer.MAX_VALUE);
    writer.start();
    Await.until("the first failed insert", () -> !inserts.attempts("usage_events").isEmpty(), WAIT);

    source.append(P0, events("e", 11, 25));
    Await.until("the next batch full", () -> source.pausedPolls() > 0, WAIT);
    assertEquals(20, source.polledRecords());
    inserts.failNext("usage_events", 2);

    Await.until("all committed", () -> Long.valueOf(25).equals(source.committed().get(P0)), WAIT);
    List<InsertsTwin.Attempt> attempts = inserts.attempts("usage_events");
    List<InsertsTwin.Attempt> failed =
        attempts.stream().filter(InsertsTwin.Attempt::failed).toList();
    assertTrue(failed.size() >= 3, attempts.toString());
    for (InsertsTwin.Attempt attempt : failed) {
      assertEquals(List.of(events("e", 1, 10)), List.of(attempt.rows().toArray()));
      assertEquals(Map.of(), attempt.committedBefore(), "nothing committed before it succeeded");
    }
    List<InsertsTwin.Attempt> succeeded = attempts.stream().filter(a -> !a.failed()).toList();
    assertEquals(
        List.of(
            List.of(events("e", 1, 10)),
            List.of(events("e", 11, 20)),
            List.of(events("e", 21, 25))),
        succeeded.stream().map(a -> List.of(a.rows().toArray())).toList());
    assertEquals(
        List.of(Map.of(), Map.of(P0, 10L), Map.of(P0, 20L)),
        succeeded.stream().map(InsertsTwin.Attempt::committedBefore).toList(),
        "each batch committed after its insert, in batch order");
    assertEquals(List.of(events("e", 1, 25)), List.of(inserts.inserted("usage_events").toArray()));
    assertEquals(failed.size(), health.insertFailures());
    assertEquals(25, health.rowsWritten());
  }

  @Test
  void aRecordTheInsertThreadCannotRenderReplacesTheConsumerWhichResumesFromTheCommittedOffsets()
      throws Exception {
    org.apache.kafka.common.TopicPartition rollups =
        new org.apache.kafka.common.TopicPartition("rollups", 0);
    start(10, Duration.ofMillis(250), 10, Map.of("rollups", 0));
    source.append(rollups);
    source.append(P0, events("e", 1, 5));
    writer.start();
    Await.until("committed", () -> Long.valueOf(5).equals(source.committed().get(P0)), WAIT);

    source.atOnce(
        () -> {
          source.append(rollups, "not stored totals");
          source.append(P0, events("e", 6, 8));
        });
    Await.until(
        "a new consumer read again",
        () -> source.opened() >= 2 && source.firstOffsetPolled(1, P0) >= 0,
        WAIT);
    assertTrue(source.closed(0), "the failed consumer was closed");
    assertEquals(5, source.firstOffsetPolled(1, P0), "the new one resumed at the committed offset");
    assertEquals(0, source.firstOffsetPolled(1, rollups));
    assertTrue(health.restarts() >= 1);
    assertEquals(Map.of(P0, 5L), source.committed(), "nothing of the failed batch was committed");
    assertEquals(List.of(events("e", 1, 5)), List.of(inserts.inserted("usage_events").toArray()));
  }

  @Test
  void closeWhileAnInsertIsHeldReturnsCommitsNothingOfItAndLeavesNoThreadRunning()
      throws Exception {
    start(10, Duration.ofMillis(250), 10);
    source.append(P0, events("e", 1, 3));
    InsertsTwin.Hold hold = inserts.holdNext("usage_events");
    writer.start();
    hold.awaitEntered(WAIT);
    source.append(P0, events("e", 4, 6));
    Await.until("the next batch read", () -> source.polledRecords() == 6, WAIT);

    writer.close();

    assertEquals(Map.of(), source.committed());
    assertTrue(source.allClosedButTheLast() && source.closed(source.opened() - 1));
    List<InsertsTwin.Attempt> attempts = inserts.attempts("usage_events");
    assertEquals(1, attempts.size(), attempts.toString());
    assertTrue(attempts.get(0).failed(), "the held insert was given up");
    List<String> running =
        Thread.getAllStackTraces().keySet().stream()
            .filter(Thread::isAlive)
            .map(Thread::getName)
            .filter(name -> name.startsWith("clickhouse-writer"))
            .toList();
    assertEquals(List.of(), running, "the writer's threads ended");
  }
}
