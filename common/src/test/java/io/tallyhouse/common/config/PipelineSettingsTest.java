package io.tallyhouse.common.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PipelineSettingsTest {

  @Test
  void defaultsMatchTheLocalStack() {
    Settings s = Settings.of(Map.of());
    PipelineSettings pipeline = s.validate(PipelineSettings.read(s));
    assertEquals("127.0.0.1:9092", pipeline.bootstrapServers());
    assertEquals("usage-events", pipeline.eventsTopic());
    assertEquals(6, pipeline.eventsPartitions());
    assertEquals(Duration.ofDays(35), pipeline.dedupWindow());
    assertEquals("http://127.0.0.1:8085/apis/ccompat/v7", pipeline.registry().url());
    assertNull(pipeline.registry().username());
    assertEquals(Duration.ofSeconds(10), pipeline.registry().timeout());
  }

  @Test
  void sharedPartsAreReadFromTheirVariables() {
    Settings s =
        Settings.of(
            Map.of(
                "DEDUP_WINDOW_DAYS",
                "7",
                "SCHEMA_REGISTRY_TIMEOUT_MS",
                "1500",
                "CLICKHOUSE_DATABASE",
                "th2",
                "CLICKHOUSE_PASSWORD",
                "pw",
                "HTTP_PORT",
                "9000"));
    assertEquals(Duration.ofDays(7), PipelineSettings.read(s).dedupWindow());
    assertEquals(Duration.ofMillis(1500), PipelineSettings.registry(s).timeout());
    assertEquals("th2", PipelineSettings.clickHouse(s).database());
    assertEquals("pw", PipelineSettings.clickHouse(s).password());
    assertEquals(new PipelineSettings.Http("127.0.0.1", 9000), PipelineSettings.http(s, 8080));
    assertTrue(s.problems().isEmpty(), s.problems().toString());
  }

  @Test
  void theIsoDurationRegistryTimeoutIsRefusedWithWhatToSetInstead() {
    Settings s = Settings.of(Map.of("SCHEMA_REGISTRY_TIMEOUT", "PT5S", "DEDUP_WINDOW_DAYS", "0"));
    PipelineSettings pipeline = PipelineSettings.read(s);
    ConfigException e = assertThrows(ConfigException.class, () -> s.validate(pipeline));
    assertEquals(2, e.problems().size(), e.getMessage());
    assertTrue(e.problems().contains("DEDUP_WINDOW_DAYS=0: must be at least 1"), e.getMessage());
    assertTrue(
        e.problems()
            .contains(
                "SCHEMA_REGISTRY_TIMEOUT=PT5S: no longer read; set SCHEMA_REGISTRY_TIMEOUT_MS (milliseconds)"),
        e.getMessage());
  }
}
