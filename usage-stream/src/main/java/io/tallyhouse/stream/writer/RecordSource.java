package io.tallyhouse.stream.writer;

import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.TopicPartition;

/**
 * The writer's consumer as the writer uses it: records to read, positions to move back, progress to
 * commit. The production one is {@link KafkaRecordSource}; the batching, retry and rewind of {@link
 * ClickHouseWriter} are unit-tested over a twin of this interface.
 */
public interface RecordSource extends AutoCloseable {

  /** Opens a source subscribed to {@code topics}, reading on from their committed offsets. */
  @FunctionalInterface
  interface Opener {
    RecordSource open(Collection<String> topics);
  }

  /**
   * The records that arrived within {@code timeout} (none is an empty list), in order per
   * partition.
   */
  List<ConsumerRecord<byte[], byte[]>> poll(Duration timeout);

  /** The partitions this source owns now. */
  Set<TopicPartition> assignment();

  /** Stops fetching from every owned partition, while the source stays a member of its group. */
  void pauseAll();

  /** Fetches from every paused partition again. */
  void resumeAll();

  /** The next poll returns the partition's records from {@code offset} on. */
  void seek(TopicPartition partition, long offset);

  /**
   * Commits, per partition, the offset of the next record to read; partitions no longer owned are
   * left to their new owner. Throws when the commit may not have happened (the caller then resumes
   * from the last committed offsets).
   */
  void commit(Map<TopicPartition, Long> nextOffsets);

  /**
   * The consumer client's own metrics (records-lag per partition among them), safe to read from
   * another thread; empty once closed.
   */
  Map<MetricName, ? extends Metric> metrics();

  /** Makes a poll that is waiting, or the next one, return at once by throwing (for close). */
  void wakeup();

  @Override
  void close();
}
