package io.tallyhouse.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tallyhouse.common.config.ConfigException;
import io.tallyhouse.common.config.KafkaClientSettings.Role;
import io.tallyhouse.common.config.Settings;
import io.tallyhouse.common.runtime.ServiceMain;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** gateway-ingest's settings: defaults, overrides, and every broken variable reported at once. */
class IngestConfigTest {

  @Test
  void defaultsRunTheServiceLocally() {
    IngestConfig config = ServiceMain.read(Map.of(), IngestConfig::read);
    assertEquals("127.0.0.1", config.http().host());
    assertEquals(8080, config.http().port());
    assertEquals("127.0.0.1:9092", config.pipeline().bootstrapServers());
    assertEquals("usage-events", config.pipeline().eventsTopic());
    assertEquals(Duration.ofDays(35), config.pipeline().dedupWindow());
    assertEquals(Path.of(".run/keys.jsonl"), config.keysFile());
    assertEquals(5 * 1024 * 1024, config.maxBodyBytes());
    assertEquals(1000, config.maxEventsPerRequest());
    assertEquals(Duration.ofSeconds(10), config.publishTimeout());
    assertEquals(32L * 1024 * 1024, config.maxInFlightBytes());
    assertEquals(Map.of(), config.kafka().client());
    assertEquals(Map.of(), config.kafka().roles().get(Role.PRODUCER));
  }

  @Test
  void producerSettingsPassThroughByTheirKafkaNames() {
    IngestConfig config =
        ServiceMain.read(
            Map.of(
                "KAFKA_PRODUCER_SECURITY_PROTOCOL",
                "SSL",
                "KAFKA_PRODUCER_METADATA_MAX_AGE_MS",
                "500"),
            IngestConfig::read);
    assertEquals(
        Map.of("security.protocol", "SSL", "metadata.max.age.ms", "500"),
        config.kafka().roles().get(Role.PRODUCER));
    assertEquals(config.kafka(), config.publish().kafka());
  }

  @Test
  void everyBrokenVariableIsReportedAtOnceWithItsValueAndRule() {
    ConfigException e =
        assertThrows(
            ConfigException.class,
            () ->
                ServiceMain.read(
                    Map.of(
                        "HTTP_PORT", "70000",
                        "EVENTS_PARTITIONS", "0",
                        "MAX_BODY_BYTES", "5MiB",
                        "PUBLISH_TIMEOUT_MS", "-1",
                        "DEDUP_WINDOW_DAYS", "",
                        "KAFKA_PRODUCER_ACKS", "1"),
                    IngestConfig::read));
    List<String> problems = e.problems();
    assertEquals(6, problems.size(), problems.toString());
    assertTrue(problems.contains("HTTP_PORT=70000: must be from 0 to 65535"), problems.toString());
    assertTrue(
        problems.contains("EVENTS_PARTITIONS=0: must be from 1 to 2147483647"),
        problems.toString());
    assertTrue(
        problems.contains("MAX_BODY_BYTES=5MiB: must be a whole number"), problems.toString());
    assertTrue(
        problems.contains("PUBLISH_TIMEOUT_MS=-1: must be from 1 to 2147483647"),
        problems.toString());
    assertTrue(
        problems.stream().anyMatch(p -> p.startsWith("DEDUP_WINDOW_DAYS=: ")), problems.toString());
    assertTrue(
        problems.stream().anyMatch(p -> p.startsWith("KAFKA_PRODUCER_ACKS=1: ")),
        problems.toString());
  }

  @Test
  void aFixedProducerSettingIsRefusedNamingTheVariableAndWhy() {
    ConfigException e =
        assertThrows(
            ConfigException.class,
            () ->
                ServiceMain.read(
                    Map.of("KAFKA_PRODUCER_DELIVERY_TIMEOUT_MS", "600000"), IngestConfig::read));
    assertEquals(
        List.of(
            "KAFKA_PRODUCER_DELIVERY_TIMEOUT_MS=600000: cannot be set: gateway-ingest fixes"
                + " delivery.timeout.ms of its producer (the 202 guarantee and PUBLISH_TIMEOUT_MS depend on it)"),
        e.problems());
  }

  @Test
  void everyVariableIsDescribedWithAMeaning() {
    Settings settings = Settings.of(Map.of());
    IngestConfig.read(settings);
    List<String> names = settings.described().stream().map(Settings.Setting::name).toList();
    assertTrue(
        names.containsAll(
            List.of(
                "HTTP_HOST",
                "HTTP_PORT",
                "KAFKA_BOOTSTRAP_SERVERS",
                "SCHEMA_REGISTRY_URL",
                "EVENTS_TOPIC",
                "EVENTS_PARTITIONS",
                "DEDUP_WINDOW_DAYS",
                "KEYS_FILE",
                "MAX_BODY_BYTES",
                "MAX_EVENTS_PER_REQUEST",
                "PUBLISH_TIMEOUT_MS",
                "MAX_IN_FLIGHT_BYTES",
                "KAFKA_CLIENT_*",
                "KAFKA_PRODUCER_*",
                "KAFKA_ADMIN_*")),
        names.toString());
    settings.described().forEach(s -> assertTrue(!s.meaning().isBlank(), s.name()));
  }
}
