package io.tallyhouse.stream.topology;

import io.tallyhouse.schemas.registry.SchemaRegistryException;
import java.time.Duration;
import org.apache.kafka.common.serialization.Deserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Retries a deserializer while the schema registry cannot be used, for a bounded time, then lets
 * the trouble through. It runs on the stream thread inside an open Kafka transaction, which the
 * broker aborts after {@code transaction.timeout.ms} (30 s as StreamsProperties sets it): the
 * budget stays well below that, so a registry that is back within it costs nothing but the wait.
 * Longer trouble fails the stream thread (see {@link StreamThreadFailures}); its transaction aborts
 * and the record is read again, so nothing is lost or counted twice.
 */
public final class RetryingDeserializer<T> implements Deserializer<T> {

  private static final Logger LOG = LoggerFactory.getLogger(RetryingDeserializer.class);

  static final Duration BUDGET = Duration.ofSeconds(3);
  private static final long FIRST_PAUSE_MS = 100;
  private static final long LONGEST_PAUSE_MS = 1000;

  private final Deserializer<T> deserializer;

  public RetryingDeserializer(Deserializer<T> deserializer) {
    this.deserializer = deserializer;
  }

  @Override
  public T deserialize(String topic, byte[] data) {
    long deadline = System.nanoTime() + BUDGET.toNanos();
    long pause = FIRST_PAUSE_MS;
    while (true) {
      try {
        return deserializer.deserialize(topic, data);
      } catch (SchemaRegistryException e) {
        if (System.nanoTime() + Duration.ofMillis(pause).toNanos() - deadline > 0) {
          throw e;
        }
        LOG.warn("schema registry trouble, retrying in {} ms: {}", pause, e.getMessage());
        try {
          Thread.sleep(pause);
        } catch (InterruptedException interrupted) {
          Thread.currentThread().interrupt();
          throw e;
        }
        pause = Math.min(pause * 2, LONGEST_PAUSE_MS);
      }
    }
  }
}
