package io.tallyhouse.stream.writer;

import io.tallyhouse.common.config.KafkaClientSettings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.CommitFailedException;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.NoOffsetForPartitionException;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetOutOfRangeException;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The writer's records from a KafkaConsumer of its own group, reading committed transactions only.
 */
final class KafkaRecordSource implements RecordSource {

  private static final Logger LOG = LoggerFactory.getLogger(KafkaRecordSource.class);

  private final KafkaConsumer<byte[], byte[]> consumer;
  private final Duration commitTimeout;
  private final WriterHealth health;
  private volatile boolean closed;

  private KafkaRecordSource(
      Map<String, Object> properties,
      Collection<String> topics,
      Duration commitTimeout,
      WriterHealth health) {
    // Keys stay bytes: rollup keys go into the rows as they are (no decoding only to encode again),
    // and the distinct
    // events topic's keys are not needed at all.
    this.consumer =
        new KafkaConsumer<>(properties, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    this.commitTimeout = commitTimeout;
    this.health = health;
    consumer.subscribe(topics);
  }

  /**
   * Opens consumers of the writer's group {@code group} on {@code kafka}'s brokers, with its client
   * properties.
   */
  static RecordSource.Opener opener(
      KafkaClientSettings kafka, String group, WriterSettings settings, WriterHealth health) {
    Map<String, Object> props = new HashMap<>();
    props.put(ConsumerConfig.GROUP_ID_CONFIG, group);
    // Only records of committed Streams transactions: an aborted attempt must never reach
    // ClickHouse.
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    // Not "earliest": that would also apply, silently, when records the writer had not read yet
    // were deleted by
    // retention. poll() reports both cases instead (see poll): a partition never read starts at its
    // beginning,
    // deleted records are an error in the log and a metric.
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "none");
    props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, settings.batchRows());
    props.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 10_000);
    // The rollups topic is the rollup store's changelog, which Kafka Streams creates with the
    // events topic's
    // partition count; a broker creating it first on this subscription would give it the broker's
    // default count.
    props.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
    Map<String, Object> consumerProps = kafka.consumer(props);
    return topics -> new KafkaRecordSource(consumerProps, topics, settings.commitTimeout(), health);
  }

  /**
   * {@code consumer.poll}, resolving positions the consumer cannot resume from: a partition without
   * a committed offset (first start) starts at its beginning; a committed offset whose records are
   * gone (deleted by retention before being read, or a recreated topic) is logged as an error and
   * counted, and the partition restarts at its earliest record. reconcile shows what the deleted
   * records held.
   */
  @Override
  public List<ConsumerRecord<byte[], byte[]>> poll(Duration timeout) {
    ConsumerRecords<byte[], byte[]> polled;
    try {
      polled = consumer.poll(timeout);
    } catch (NoOffsetForPartitionException e) {
      consumer.seekToBeginning(e.partitions());
      return List.of();
    } catch (OffsetOutOfRangeException e) {
      health.recordsDeleted(e.partitions().size());
      LOG.error(
          "records the writer had not read were deleted from {} (next offsets it expected: {}); they are"
              + " missing from ClickHouse: run reconcile for the affected days",
          e.partitions(),
          e.offsetOutOfRangePartitions());
      consumer.seekToBeginning(e.partitions());
      return List.of();
    }
    List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>(polled.count());
    polled.forEach(records::add);
    return records;
  }

  @Override
  public Set<TopicPartition> assignment() {
    return consumer.assignment();
  }

  @Override
  public Map<MetricName, ? extends Metric> metrics() {
    // A view of the client's concurrent metrics registry, not guarded by the consumer's
    // single-thread check; a closed client keeps its last values, which are no longer true.
    return closed ? Map.of() : consumer.metrics();
  }

  @Override
  public void pauseAll() {
    consumer.pause(consumer.assignment());
  }

  @Override
  public void resumeAll() {
    consumer.resume(consumer.paused());
  }

  @Override
  public void seek(TopicPartition partition, long offset) {
    consumer.seek(partition, offset);
  }

  @Override
  public void commit(Map<TopicPartition, Long> nextOffsets) {
    Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
    nextOffsets.forEach((partition, next) -> offsets.put(partition, new OffsetAndMetadata(next)));
    // Partitions a rebalance took away meanwhile are left to their new owner, which re-reads and
    // re-inserts the same rows; logged, so that it shows.
    Set<TopicPartition> gone = new HashSet<>(offsets.keySet());
    offsets.keySet().retainAll(consumer.assignment());
    gone.removeAll(offsets.keySet());
    if (!gone.isEmpty()) {
      // The batch's commit is abandoned for these partitions, as when the broker refuses it: the
      // consumer lost them (the broker was away longer than the session timeout, or a rebalance).
      health.commitAbandoned();
      LOG.info(
          "partitions {} are no longer assigned to the writer; their rows will be written again by"
              + " their next owner",
          gone);
    }
    if (offsets.isEmpty()) {
      return;
    }
    try {
      consumer.commitSync(offsets, commitTimeout);
    } catch (CommitFailedException e) {
      // Lost the partitions in a rebalance, or no longer an active member of the group (the
      // broker was away): whoever holds them next re-reads and re-inserts the same rows, which is
      // harmless.
      if (gone.isEmpty()) {
        health.commitAbandoned();
      }
      LOG.info(
          "offset commit after a rebalance failed; the rows will be written again: {}",
          e.getMessage());
    }
  }

  @Override
  public void wakeup() {
    consumer.wakeup();
  }

  @Override
  public void close() {
    closed = true;
    try {
      // Bounded: with the broker away, leaving the group would otherwise wait the default 30 s.
      consumer.close(CloseOptions.timeout(Duration.ofSeconds(5)));
    } catch (RuntimeException e) {
      LOG.warn("closing the writer's consumer failed; a new one replaces it anyway", e);
    }
  }
}
