package io.tallyhouse.ingest.publish;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;

/**
 * The producer carries the 202 promise (acks=all, idempotent, giving up at the publish deadline)
 * whatever is set.
 */
class PublishSettingsTest {

  private static PublishSettings settings(Map<String, String> overrides) {
    return new PublishSettings(
        "broker:9092", "usage-events", 6, Duration.ofSeconds(3), 32L * 1024 * 1024, overrides);
  }

  @Test
  void theProducerIsIdempotentWithAcksAllAndGivesUpAtThePublishDeadline() {
    Properties props =
        settings(Map.of("security.protocol", "SSL", "linger.ms", "20")).producerProperties();
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
        "cannot be set: gateway-ingest fixes acks (the 202 guarantee and PUBLISH_TIMEOUT_MS depend on it)",
        PublishSettings.fixedSettingProblem("acks"));
    assertNull(PublishSettings.fixedSettingProblem("security.protocol"));
    assertThrows(
        IllegalArgumentException.class, () -> settings(Map.of("delivery.timeout.ms", "600000")));
  }
}
