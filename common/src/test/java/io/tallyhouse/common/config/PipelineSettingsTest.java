package io.tallyhouse.common.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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

  @Test
  void trustFilesMustBeReadableAndTheTruststoreUsable(@TempDir Path dir) throws Exception {
    Path garbage = Files.writeString(dir.resolve("ca.pem"), "not a certificate");
    Settings s =
        Settings.of(
            Map.of(
                "CLICKHOUSE_CA_CERT",
                dir.resolve("missing.pem").toString(),
                "SCHEMA_REGISTRY_SSL_TRUSTSTORE_LOCATION",
                garbage.toString(),
                "SCHEMA_REGISTRY_SSL_TRUSTSTORE_TYPE",
                "PEM"));
    PipelineSettings.clickHouse(s);
    PipelineSettings.registry(s);
    assertEquals(2, s.problems().size(), s.problems().toString());
    assertTrue(
        s.problems()
            .contains(
                "CLICKHOUSE_CA_CERT="
                    + dir.resolve("missing.pem")
                    + ": must be a readable file (unset it for none)"),
        s.problems().toString());
    assertTrue(
        s.problems().get(1).startsWith("SCHEMA_REGISTRY_SSL_TRUSTSTORE_LOCATION=" + garbage)
            && s.problems().get(1).contains("cannot read the PEM truststore"),
        s.problems().toString());
  }

  @Test
  void anUnknownTruststoreTypeIsRefusedAndNoTrustMeansTheJvmDefaults() {
    Settings s = Settings.of(Map.of("SCHEMA_REGISTRY_SSL_TRUSTSTORE_TYPE", "PFX"));
    assertNull(PipelineSettings.registry(s).truststore());
    assertNull(PipelineSettings.clickHouse(s).caCertificate());
    assertEquals(1, s.problems().size(), s.problems().toString());
    assertTrue(
        s.problems().get(0).startsWith("SCHEMA_REGISTRY_SSL_TRUSTSTORE_TYPE=PFX: must be one of"),
        s.problems().toString());
  }
}
