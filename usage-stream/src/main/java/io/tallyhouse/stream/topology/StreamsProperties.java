package io.tallyhouse.stream.topology;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.LogAndFailExceptionHandler;

/**
 * The Kafka Streams settings the topology runs with: exactly once, its own cache, and the timeouts
 * it needs. The brokers and the operator's client properties come on top ({@link
 * io.tallyhouse.common.config.KafkaClientSettings#streams}).
 */
public final class StreamsProperties {

  private StreamsProperties() {}

  public static Properties of(
      String applicationId,
      Path stateDir,
      Duration commitInterval,
      int streamThreads,
      String producerCompression) {
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, applicationId);
    p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
    p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, commitInterval.toMillis());
    // A stream thread spends much of its time waiting for the broker (transaction commits,
    // flushes); more threads
    // overlap those waits when there are cores to spare.
    p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, streamThreads);
    // No store uses Kafka Streams' record cache: the rollup store has its own (RollupStore).
    p.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0);
    // A record that cannot be read stops the application rather than being skipped: nothing is
    // dropped silently.
    p.put(
        StreamsConfig.DEFAULT_DESERIALIZATION_EXCEPTION_HANDLER_CLASS_CONFIG,
        LogAndFailExceptionHandler.class);
    // lz4 by default: the distinct event rows compress well at no measurable CPU cost
    // (bench/README.md,
    // "usage-stream").
    p.put(
        StreamsConfig.producerPrefix(ProducerConfig.COMPRESSION_TYPE_CONFIG), producerCompression);
    p.put(StreamsConfig.producerPrefix(ProducerConfig.BATCH_SIZE_CONFIG), 256 * 1024);
    // Under exactly-once Kafka Streams lowers this to 10 s. A thread starved of CPU (a loaded box,
    // a long GC) can keep
    // a transaction open that long; the coordinator then aborts it and fences the producer, and the
    // thread's tasks are
    // closed dirty and restore their stores from the changelogs, which a starved box does slowly
    // again. 30 s rides
    // that out; the cost is that a transaction left open by an instance that never comes back holds
    // up read_committed
    // readers (the writer) for up to 30 s.
    p.put(StreamsConfig.producerPrefix(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG), 30_000);
    // After a crash the restarted instance waits for the old member's session to expire; keep that
    // short.
    p.put(StreamsConfig.consumerPrefix(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG), 10_000);
    return p;
  }
}
