package io.tallyhouse.stream.writer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.WakeupException;

/**
 * A log and its consumer group as the writer's unit tests set them: records per partition, the
 * group's committed offsets, and the sources the writer opened on them. Each new source starts at
 * the committed offsets (the beginning where there are none), as a new consumer of the group does.
 */
final class SourceTwin implements RecordSource.Opener {

  private final TickerTwin ticker;
  private final int maxPollRecords;
  private final Map<TopicPartition, List<ConsumerRecord<byte[], byte[]>>> log = new HashMap<>();
  private final Map<TopicPartition, Long> committed = new HashMap<>();
  private final List<Source> opened = new ArrayList<>();
  private int commitFailuresLeft;
  private TopicPartition assignDuringPausedPoll;
  private long firstPolledAtNanos = -1;

  SourceTwin(TickerTwin ticker, int maxPollRecords) {
    this.ticker = ticker;
    this.maxPollRecords = maxPollRecords;
  }

  /** Appends records whose values are {@code values}, each a usage_events row of its own. */
  synchronized void append(TopicPartition partition, String... values) {
    List<ConsumerRecord<byte[], byte[]>> records =
        log.computeIfAbsent(partition, p -> new ArrayList<>());
    for (String value : values) {
      records.add(
          new ConsumerRecord<>(
              partition.topic(),
              partition.partition(),
              records.size(),
              null,
              (value + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    }
  }

  /** The next {@code times} commits fail as a commit that timed out while the broker was away. */
  synchronized void failNextCommits(int times) {
    commitFailuresLeft = times;
  }

  /**
   * A rebalance during the next poll made while the writer's partitions are paused: it hands the
   * current source {@code partition}, not paused, and that poll returns its records.
   */
  synchronized void assignDuringPausedPoll(TopicPartition partition) {
    assignDuringPausedPoll = partition;
  }

  /** Whether the rebalance of {@link #assignDuringPausedPoll} has happened. */
  synchronized boolean rebalanced() {
    return assignDuringPausedPoll == null;
  }

  synchronized Map<TopicPartition, Long> committed() {
    return Map.copyOf(committed);
  }

  synchronized int opened() {
    return opened.size();
  }

  synchronized boolean allClosedButTheLast() {
    return opened.subList(0, opened.size() - 1).stream().allMatch(s -> s.closed);
  }

  /** When the current batch's first record was returned by a poll; -1 before that. */
  synchronized long firstPolledAtNanos() {
    return firstPolledAtNanos;
  }

  synchronized void resetFirstPolled() {
    firstPolledAtNanos = -1;
  }

  @Override
  public synchronized RecordSource open(Collection<String> topics) {
    Source source = new Source(topics);
    opened.add(source);
    return source;
  }

  private final class Source implements RecordSource {
    private final Set<TopicPartition> assignment = new LinkedHashSet<>();
    private final Set<TopicPartition> paused = new HashSet<>();
    private final Map<TopicPartition, Long> positions = new HashMap<>();
    private volatile boolean wakeup;
    private boolean closed;

    @Override
    public Map<org.apache.kafka.common.MetricName, ? extends org.apache.kafka.common.Metric>
        metrics() {
      return Map.of();
    }

    Source(Collection<String> topics) {
      synchronized (SourceTwin.this) {
        log.keySet().stream().filter(p -> topics.contains(p.topic())).forEach(assignment::add);
      }
    }

    @Override
    public List<ConsumerRecord<byte[], byte[]>> poll(Duration timeout) {
      if (wakeup) {
        throw new WakeupException();
      }
      List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
      synchronized (SourceTwin.this) {
        if (!paused.isEmpty() && assignDuringPausedPoll != null) {
          assignment.add(assignDuringPausedPoll);
          assignDuringPausedPoll = null;
        }
        for (TopicPartition partition : assignment) {
          if (paused.contains(partition)) {
            continue;
          }
          long position = positions.computeIfAbsent(partition, p -> committed.getOrDefault(p, 0L));
          List<ConsumerRecord<byte[], byte[]>> partitionLog =
              log.getOrDefault(partition, List.of());
          while (position < partitionLog.size() && records.size() < maxPollRecords) {
            records.add(partitionLog.get((int) position++));
          }
          positions.put(partition, position);
        }
        if (!records.isEmpty() && firstPolledAtNanos < 0) {
          firstPolledAtNanos = ticker.nanoTime();
        }
      }
      if (records.isEmpty()) {
        try {
          ticker.sleep(timeout.toMillis());
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      return records;
    }

    @Override
    public Set<TopicPartition> assignment() {
      synchronized (SourceTwin.this) {
        return Set.copyOf(assignment);
      }
    }

    @Override
    public void pauseAll() {
      synchronized (SourceTwin.this) {
        paused.addAll(assignment);
      }
    }

    @Override
    public void resumeAll() {
      synchronized (SourceTwin.this) {
        paused.clear();
      }
    }

    @Override
    public void seek(TopicPartition partition, long offset) {
      synchronized (SourceTwin.this) {
        positions.put(partition, offset);
      }
    }

    @Override
    public void commit(Map<TopicPartition, Long> nextOffsets) {
      synchronized (SourceTwin.this) {
        if (commitFailuresLeft > 0) {
          commitFailuresLeft--;
          throw new TimeoutException("commit timed out (twin)");
        }
        nextOffsets.forEach(
            (partition, next) -> {
              if (assignment.contains(partition)) {
                committed.put(partition, next);
              }
            });
        firstPolledAtNanos = -1;
      }
    }

    @Override
    public void wakeup() {
      wakeup = true;
    }

    @Override
    public void close() {
      synchronized (SourceTwin.this) {
        closed = true;
      }
    }
  }
}
