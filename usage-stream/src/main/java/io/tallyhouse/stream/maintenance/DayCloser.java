package io.tallyhouse.stream.maintenance;

import io.tallyhouse.stream.rollup.RollupStore;
import io.tallyhouse.stream.writer.ClickHouseWriter;
import java.time.Duration;
import java.time.LocalDate;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListConsumerGroupOffsetsSpec;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.processor.Cancellable;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.ProcessingContext;
import org.apache.kafka.streams.state.KeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Closes the old UTC days of one stream task (DESIGN.md, "Closing days"), one small step per
 * punctuation.
 *
 * <p>When the cut-off moves, the new first open day is recorded at once, so events of closed days
 * become dead letters from then on. Their groups leave the rollup store later, in a pass over the
 * store that visits at most {@link Settings#groupsPerStep} groups per step, so no transaction does
 * more than that however many groups a task holds. A pass starts only once the ClickHouse writer
 * has committed past every record the changelog partition held for the closed days: a tombstone
 * ahead of the writer would let compaction remove a group's last totals before the writer inserted
 * them. The steps before a pass only ask the broker (futures checked at later punctuations), so the
 * stream thread never waits for an answer.
 *
 * <p>The cursor lives in memory: after a restart or a rebalance a new pass starts from the
 * beginning, as the {@code closed-days} store records only which days a completed pass removed.
 */
public final class DayCloser {

  private static final Logger LOG = LoggerFactory.getLogger(DayCloser.class);

  /**
   * How often the cut-off is checked while nothing is to be done: a punctuation makes Kafka Streams
   * commit, so an idle task checking every second would run a transaction every second.
   */
  public static final Duration CHECK_EVERY = Duration.ofMinutes(1);

  /**
   * How often a step runs while closed days wait for the writer or their groups are being deleted.
   */
  public static final Duration STEP_EVERY = Duration.ofSeconds(1);

  /** Under this key the closed-days store holds the first open day (epoch day). */
  public static final String FIRST_OPEN = "before";

  /** Under this key: the days before this epoch day have no groups left in the store. */
  static final String SWEPT = "swept";

  /**
   * Deleted (never written) once the changelog's stable end is known: a data record after it that
   * the writer reads and commits past even when no event follows. The writer skips tombstones, and
   * no group key lacks the separator.
   */
  public static final Bytes PROBE =
      Bytes.wrap("closing-days-probe".getBytes(java.nio.charset.StandardCharsets.UTF_8));

  private static final long DAY_MS = Duration.ofDays(1).toMillis();

  /** What the broker says about offsets; each answer is a future, so asking never blocks. */
  public interface Offsets {
    /** The offset a consumer group committed on a partition, -1 when it has none. */
    Future<Long> committed(String group, TopicPartition partition);

    /** The partition's last stable offset: where a read_committed consumer's reading ends now. */
    Future<Long> stableEnd(TopicPartition partition);

    /** The broker's answers through an admin client. */
    public static Offsets of(Admin admin) {
      return new Offsets() {
        @Override
        public Future<Long> committed(String group, TopicPartition partition) {
          return admin
              .listConsumerGroupOffsets(
                  Map.of(
                      group,
                      new ListConsumerGroupOffsetsSpec().topicPartitions(List.of(partition))))
              .partitionsToOffsetAndMetadata(group)
              .thenApply(
                  offsets -> {
                    OffsetAndMetadata committed = offsets.get(partition);
                    return committed == null ? -1L : committed.offset();
                  });
        }

        @Override
        public Future<Long> stableEnd(TopicPartition partition) {
          return admin
              .listOffsets(
                  Map.of(partition, OffsetSpec.latest()),
                  new ListOffsetsOptions(IsolationLevel.READ_COMMITTED))
              .partitionResult(partition)
              .thenApply(ListOffsetsResult.ListOffsetsResultInfo::offset);
        }
      };
    }
  }

  /**
   * @param groupsPerStep the most groups one step visits (and so deletes)
   * @param offsets where the steps before a pass ask the broker
   */
  public record Settings(int groupsPerStep, Offsets offsets) {
    public Settings {
      if (groupsPerStep < 1) {
        throw new IllegalArgumentException(
            "a step must visit at least one group, not " + groupsPerStep);
      }
    }
  }

  /**
   * Before a pass: our own transaction committed, the changelog's end read, the writer past it;
   * then deleting.
   */
  private enum Stage {
    IDLE,
    OWN_COMMIT,
    STABLE_END,
    WRITER,
    DELETING
  }

  private final long windowMillis;
  private final RollupStore totals;
  private final KeyValueStore<String, Long> closed;
  private final Settings settings;
  private final String applicationId;
  private final TopicPartition input;
  private final TopicPartition changelog;
  private long firstOpenDay;
  private long sweptBefore;

  /** The offset after the last input record this instance processed, -1 before the first. */
  private long processedUntil = -1;

  private Stage stage = Stage.IDLE;
  private Future<Long> answer;
  private long passBefore;
  private long ownCommitAt;
  private long writerTarget;
  private Bytes cursor;
  private long deleted;
  private Cancellable steps;

  public DayCloser(
      Duration dedupWindow,
      RollupStore totals,
      KeyValueStore<String, Long> closed,
      Settings settings,
      String applicationId,
      TopicPartition input) {
    this.windowMillis = dedupWindow.toMillis();
    this.totals = totals;
    this.closed = closed;
    this.settings = settings;
    this.applicationId = applicationId;
    this.input = input;
    this.changelog =
        new TopicPartition(RollupStore.changelogTopic(applicationId), input.partition());
    Long first = closed.get(FIRST_OPEN);
    Long swept = closed.get(SWEPT);
    this.firstOpenDay = first == null ? Long.MIN_VALUE : first;
    this.sweptBefore = swept == null ? Long.MIN_VALUE : swept;
  }

  /**
   * Checks the cut-off every {@link #CHECK_EVERY}; while there is work, steps every {@link
   * #STEP_EVERY} instead (never both in one punctuation, so one transaction deletes one batch at
   * most).
   */
  public void schedule(ProcessingContext context) {
    context.schedule(
        CHECK_EVERY,
        PunctuationType.WALL_CLOCK_TIME,
        now -> {
          if (steps == null) {
            punctuate(context, now);
          }
        });
  }

  private void punctuate(ProcessingContext context, long now) {
    step(Math.min(now, context.currentStreamTimeMs()));
    boolean busy = stage != Stage.IDLE || sweptBefore < firstOpenDay;
    if (busy && steps == null) {
      steps =
          context.schedule(
              STEP_EVERY, PunctuationType.WALL_CLOCK_TIME, time -> punctuate(context, time));
    } else if (!busy && steps != null) {
      steps.cancel();
      steps = null;
    }
  }

  /** Epoch day: events of earlier UTC days are refused. */
  public long firstOpenDay() {
    return firstOpenDay;
  }

  /**
   * Notes an input record's offset: the transaction that commits it holds every update made before
   * a close.
   */
  public void processed(long offset) {
    processedUntil = offset + 1;
  }

  /**
   * Moves the cut-off to the day of {@code time} - window - 1 day if that is later, then goes
   * through the stages whose answers are there, deleting at most one batch. {@code time} is
   * min(wall clock, stream time); negative before the first record.
   */
  void step(long time) {
    if (time >= 0) {
      long firstOpen = Math.floorDiv(time - windowMillis - DAY_MS, DAY_MS);
      if (firstOpen > firstOpenDay) {
        closed.put(FIRST_OPEN, firstOpen);
        firstOpenDay = firstOpen;
        LOG.info(
            "closed the UTC days before {}: their events are dead letters from now on",
            LocalDate.ofEpochDay(firstOpen));
      }
    }
    while (advance()) {
      // each stage whose answer is there leads to the next
    }
  }

  /** Does the current stage's work; true when the next stage may start right away. */
  private boolean advance() {
    switch (stage) {
      case IDLE -> {
        if (sweptBefore >= firstOpenDay) {
          return false;
        }
        passBefore = firstOpenDay;
        // Updates of closed days may still sit in the open transaction; the changelog's end counts
        // once it commits.
        ownCommitAt = processedUntil;
        stage = ownCommitAt < 0 ? Stage.STABLE_END : Stage.OWN_COMMIT;
        return true;
      }
      case OWN_COMMIT -> {
        Long committed = ask(() -> settings.offsets().committed(applicationId, input));
        return committed != null && committed >= ownCommitAt && to(Stage.STABLE_END);
      }
      case STABLE_END -> {
        Long end = ask(() -> settings.offsets().stableEnd(changelog));
        if (end == null) {
          return false;
        }
        writerTarget = end;
        totals.tombstone(PROBE);
        LOG.info(
            "before deleting the groups of the days before {}: waiting for the ClickHouse writer to commit {}"
                + " offset {}",
            LocalDate.ofEpochDay(passBefore),
            changelog,
            end);
        return to(Stage.WRITER);
      }
      case WRITER -> {
        Long committed =
            ask(
                () ->
                    settings.offsets().committed(ClickHouseWriter.group(applicationId), changelog));
        cursor = null;
        deleted = 0;
        return committed != null && committed >= writerTarget && to(Stage.DELETING);
      }
      default -> {
        RollupStore.Sweep sweep =
            totals.deleteDaysBefore(
                LocalDate.ofEpochDay(passBefore).toString(), cursor, settings.groupsPerStep());
        deleted += sweep.deleted();
        cursor = sweep.next();
        if (cursor == null) {
          closed.put(SWEPT, passBefore);
          sweptBefore = passBefore;
          stage = Stage.IDLE;
          LOG.info(
              "deleted {} rollups of the UTC days before {} from {}'s store",
              deleted,
              LocalDate.ofEpochDay(passBefore),
              input);
        }
        // One batch per step.
        return false;
      }
    }
  }

  private boolean to(Stage next) {
    stage = next;
    return true;
  }

  /**
   * The answer to a question asked at an earlier step, or null (then asked anew) while there is
   * none yet.
   */
  private Long ask(java.util.function.Supplier<Future<Long>> question) {
    if (answer == null) {
      answer = question.get();
    }
    if (!answer.isDone()) {
      return null;
    }
    Future<Long> done = answer;
    answer = null;
    try {
      return done.get();
    } catch (ExecutionException e) {
      LOG.warn(
          "closing days of {}: the broker did not answer, asking again: {}",
          input,
          e.getCause().toString());
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }
}
