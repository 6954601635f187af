package io.tallyhouse.ingest.publish;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.tallyhouse.common.config.ConfigException;
import io.tallyhouse.common.config.KafkaClientSettings;
import io.tallyhouse.common.config.KafkaClientSettings.Role;
import io.tallyhouse.common.config.Settings;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The producer carries the 202 promise (acks=all, idempotent, giving up at the publish deadline)
 * whatever is set.
 */
class PublishSettingsTest {

  private static PublishSettings settings(Map<String, String> env) {
    Settings s = Settings.of(env);
    KafkaClientSettings kafka =
        s.validate(KafkaClientSettings.read(s, "broker:9092", PublishSettings.CLIENTS));
    return new PublishSettings(kafka, "usage-events", 6, Duration.ofSeconds(3), 32L * 1024 * 1024);
  }

  @Test
  void theProducerIsIdempotentWithAcksAllAndGivesUpAtThePublishDeadline() {
    Map<String, Object> props =
        settings(Map.of("KAFKA_CLIENT_SECURITY_PROTOCOL", "SSL", "KAFKA_PRODUCER_LINGER_MS", "20"))
            .producerProperties();
    assertEquals("all", props.get("acks"));
    assertEquals(true, props.get("enable.idempotence"));
    assertEquals(3000, props.get("delivery.timeout.ms"));
    assertEquals(3000L, props.get("max.block.ms"));
    assertEquals("broker:9092", props.get("bootstrap.servers"));
    // More buffer than the request bytes admitted at once, so send() never waits for space.
    assertEquals(64L * 1024 * 1024, props.get("buffer.memory"));
    assertEquals("SSL", props.get("security.protocol"));
    assertEquals("20", props.get("linger.ms"));
  }

  @Test
  void aSettingTheGuaranteeRestsOnCannotBeOverridden() {
    assertEquals(
        "cannot be set: gateway-ingest fixes acks of its producer"
            + " (the 202 guarantee and PUBLISH_TIMEOUT_MS depend on it)",
        PublishSettings.CLIENTS.problem(Role.PRODUCER, "acks"));
    assertNull(PublishSettings.CLIENTS.problem(Role.PRODUCER, "security.protocol"));
    assertThrows(
        ConfigException.class,
        () -> settings(Map.of("KAFKA_PRODUCER_DELIVERY_TIMEOUT_MS", "600000")));
    assertThrows(
        ConfigException.class, () -> settings(Map.of("KAFKA_CLIENT_REQUEST_TIMEOUT_MS", "600000")));
  }
}
