package io.tallyhouse.ingest.publish;

import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.producer.ProducerConfig;

/**
 * The producer's and admin client's settings: those the 202 promise and the publish deadline rest
 * on, which no override may change, and the operator's {@code KAFKA_PRODUCER_*} overrides for the
 * rest.
 *
 * @param bootstrapServers Kafka brokers
 * @param topic the events topic
 * @param partitions partitions of the events topic when this service creates it
 * @param timeout how long a request may wait for Kafka to take its records, and again for their
 *     acknowledgement
 * @param maxInFlightBytes request bytes the HTTP side admits at once; the producer's buffer holds
 *     more than that
 * @param producerOverrides further producer settings ({@code security.protocol} and the like), none
 *     of them fixed
 */
public record PublishSettings(
    String bootstrapServers,
    String topic,
    int partitions,
    Duration timeout,
    long maxInFlightBytes,
    Map<String, String> producerOverrides) {

  /** What the 202 promise and the publish deadline rest on. */
  private static final Set<String> FIXED =
      Set.of(
          "acks",
          "enable.idempotence",
          "delivery.timeout.ms",
          "request.timeout.ms",
          "max.block.ms",
          "bootstrap.servers",
          "key.serializer",
          "value.serializer",
          "transactional.id");

  public PublishSettings {
    producerOverrides = Map.copyOf(producerOverrides);
    for (String key : producerOverrides.keySet()) {
      if (fixedSettingProblem(key) != null) {
        throw new IllegalArgumentException(key + ": " + fixedSettingProblem(key));
      }
    }
  }

  /** Why the producer setting {@code key} may not be overridden, or null when it may. */
  public static String fixedSettingProblem(String key) {
    return FIXED.contains(key)
        ? "cannot be set: gateway-ingest fixes "
            + key
            + " (the 202 guarantee and PUBLISH_TIMEOUT_MS depend on it)"
        : null;
  }

  /**
   * The producer's settings: idempotent and acks=all, giving up on a record at the publish
   * deadline.
   */
  Properties producerProperties() {
    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    props.put(ProducerConfig.BATCH_SIZE_CONFIG, 64 * 1024);
    props.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
    // Larger than the in-flight request bytes the server admits (Avro is smaller than the JSON it
    // came from), so
    // send() never waits for buffer space.
    props.put(
        ProducerConfig.BUFFER_MEMORY_CONFIG, Math.max(64L * 1024 * 1024, 2 * maxInFlightBytes));
    long millis = timeout.toMillis();
    // The producer itself gives up at the publish deadline, so a request answered 503 has no record
    // left that
    // could still be written later: the answer waits for Kafka's verdict on every record, never for
    // a timer.
    props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) millis);
    props.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) Math.max(500, millis - 10));
    props.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    // send() blocks (the sender thread only) while metadata is missing or the buffer is full, at
    // most this long.
    props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, millis);
    props.putAll(producerOverrides);
    return props;
  }

  /**
   * The admin client's settings: topic creation and the readiness check answer within the publish
   * timeout.
   */
  Map<String, Object> adminProperties() {
    int millis = (int) timeout.toMillis();
    return Map.of(
        AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
        bootstrapServers,
        AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG,
        millis,
        AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG,
        Math.min(millis, 30_000));
  }
}
