package io.tallyhouse.ingest.publish;

import io.tallyhouse.common.config.KafkaClientSettings;
import io.tallyhouse.common.config.KafkaClientSettings.Role;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.producer.ProducerConfig;

/**
 * The producer's and admin client's settings: those the 202 promise and the publish deadline rest
 * on, which no variable may change, and the operator's Kafka client properties ({@code
 * KAFKA_CLIENT_*}, {@code KAFKA_PRODUCER_*}, {@code KAFKA_ADMIN_*}) for the rest.
 *
 * @param kafka the brokers and the operator's client properties, none of them fixed ({@link
 *     #CLIENTS})
 * @param topic the events topic
 * @param partitions partitions of the events topic when this service creates it
 * @param timeout how long a request may wait for Kafka to take its records, and again for their
 *     acknowledgement
 * @param maxInFlightBytes request bytes the HTTP side admits at once; the producer's buffer holds
 *     more than that
 */
public record PublishSettings(
    KafkaClientSettings kafka,
    String topic,
    int partitions,
    Duration timeout,
    long maxInFlightBytes) {

  /**
   * gateway-ingest's clients and what they fix: the producer what the 202 promise and the publish
   * deadline rest on, the admin client the readiness check's deadline.
   */
  public static final KafkaClientSettings.Fixed CLIENTS =
      KafkaClientSettings.Fixed.of("gateway-ingest", Role.PRODUCER, Role.ADMIN)
          .with(
              Role.PRODUCER,
              "the 202 guarantee and PUBLISH_TIMEOUT_MS depend on it",
              Set.of(
                  "acks",
                  "enable.idempotence",
                  "delivery.timeout.ms",
                  "request.timeout.ms",
                  "max.block.ms",
                  "transactional.id"))
          .with(
              Role.ADMIN,
              "topic creation and the readiness check answer within PUBLISH_TIMEOUT_MS",
              Set.of("default.api.timeout.ms", "request.timeout.ms"));

  /**
   * The producer's settings: idempotent and acks=all, giving up on a record at the publish
   * deadline.
   */
  Map<String, Object> producerProperties() {
    Map<String, Object> props = new HashMap<>();
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
    // Kafka 4's default, set so it cannot drift: where the CPU is the limit the 5 ms window is what
    // fills batches (1 ms gave no more single events/s and up to twice the broker's CPU per event).
    // It is also most of a 202's time: clients that wait for each 202 with few requests in flight
    // go about twice as fast with KAFKA_PRODUCER_LINGER_MS=1 (bench/README.md, ingest).
    props.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    // send() blocks (the sender thread only) while metadata is missing or the buffer is full, at
    // most this long.
    props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, millis);
    return kafka.producer(props);
  }

  /**
   * The admin client's settings: topic creation and the readiness check answer within the publish
   * timeout.
   */
  Map<String, Object> adminProperties() {
    int millis = (int) timeout.toMillis();
    return kafka.admin(
        Map.of(
            AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG,
            millis,
            AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG,
            Math.min(millis, 30_000)));
  }
}
