package io.tallyhouse.query;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tallyhouse.common.config.ConfigException;
import io.tallyhouse.common.config.Settings;
import io.tallyhouse.common.runtime.ServiceMain;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * activity-query's settings: defaults, every variable described, every broken one reported at once.
 */
class QueryConfigTest {

  @Test
  void anEmptyEnvironmentRunsOnTheDefaults() {
    QueryConfig config = ServiceMain.read(Map.of(), QueryConfig::read);
    assertEquals("127.0.0.1", config.host());
    assertEquals(8081, config.port());
    assertEquals(Path.of(".run/keys.jsonl"), config.keysFile());
    assertEquals(QueryConfig.defaultCacheMaxBytes(), config.cacheMaxBytes());
    assertEquals(Duration.ofSeconds(1), config.cachePollInterval());
    assertEquals(100_000, config.activityMaxItems());
    assertEquals(QueryConfig.ExportLimits.DEFAULT, config.exports());
    assertEquals(new QueryConfig.Warmup(true, Duration.ofMinutes(2)), config.warmup());
  }

  @Test
  void theWarmUpCanBeSwitchedOffAndItsWaitBounded() {
    assertEquals(
        new QueryConfig.Warmup(false, Duration.ofMillis(1500)),
        ServiceMain.read(
                Map.of("CACHE_WARMUP", "off", "CACHE_WARMUP_MAX_WAIT_MS", "1500"),
                QueryConfig::read)
            .warmup());
    assertEquals(
        Duration.ZERO,
        ServiceMain.read(Map.of("CACHE_WARMUP_MAX_WAIT_MS", "0"), QueryConfig::read)
            .warmup()
            .maxWait());
  }

  @Test
  void everySettingIsRead() {
    QueryConfig config =
        ServiceMain.read(
            Map.of(
                "HTTP_HOST",
                "0.0.0.0",
                "HTTP_PORT",
                "0",
                "KEYS_FILE",
                "/k.jsonl",
                "CACHE_MAX_BYTES",
                "0",
                "CACHE_POLL_INTERVAL_MS",
                "250",
                "ACTIVITY_MAX_ITEMS",
                "7",
                "EXPORT_MAX_PER_ACCOUNT",
                "1",
                "EXPORT_MAX_TOTAL",
                "3",
                "EXPORT_STALL_TIMEOUT_MS",
                "1000"),
            QueryConfig::read);
    assertEquals(
        new QueryConfig(
            "0.0.0.0",
            0,
            Path.of("/k.jsonl"),
            config.clickHouse(),
            0,
            Duration.ofMillis(250),
            7,
            new QueryConfig.ExportLimits(1, 3, Duration.ofSeconds(1)),
            QueryConfig.Warmup.DEFAULT),
        config);
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
                        "CACHE_MAX_BYTES", "-1",
                        "CACHE_POLL_INTERVAL_MS", "soon",
                        "EXPORT_MAX_TOTAL", "0",
                        "CACHE_MAX_ROWS", "5000",
                        "CACHE_WARMUP", "maybe",
                        "CACHE_WARMUP_MAX_WAIT_MS", "-1"),
                    QueryConfig::read));
    List<String> problems = e.problems();
    assertEquals(7, problems.size(), problems.toString());
    assertProblem(problems, "CACHE_WARMUP=maybe", "one of [off, on]");
    assertProblem(problems, "CACHE_WARMUP_MAX_WAIT_MS=-1", "at least 0");
    assertProblem(problems, "HTTP_PORT=70000", "from 0 to 65535");
    assertProblem(problems, "CACHE_MAX_BYTES=-1", "at least 0");
    assertProblem(problems, "CACHE_POLL_INTERVAL_MS=soon", "whole number");
    assertProblem(problems, "EXPORT_MAX_TOTAL=0", "from 1 to");
    assertProblem(problems, "CACHE_MAX_ROWS=5000", "set CACHE_MAX_BYTES");
  }

  @Test
  void everyVariableIsDescribedWithAMeaning() {
    Settings settings = Settings.of(Map.of());
    QueryConfig.read(settings);
    List<String> names =
        settings.described().stream().map(Settings.Setting::name).collect(Collectors.toList());
    assertTrue(
        names.containsAll(
            List.of(
                "HTTP_HOST",
                "HTTP_PORT",
                "KEYS_FILE",
                "CLICKHOUSE_URL",
                "CACHE_MAX_BYTES",
                "CACHE_POLL_INTERVAL_MS",
                "ACTIVITY_MAX_ITEMS",
                "EXPORT_MAX_PER_ACCOUNT",
                "EXPORT_MAX_TOTAL",
                "EXPORT_STALL_TIMEOUT_MS",
                "CACHE_WARMUP",
                "CACHE_WARMUP_MAX_WAIT_MS")),
        names.toString());
    settings.described().forEach(s -> assertTrue(!s.meaning().isBlank(), s.name()));
    assertEquals(
        "a quarter of the maximum heap",
        settings.described().stream()
            .filter(s -> s.name().equals("CACHE_MAX_BYTES"))
            .findFirst()
            .orElseThrow()
            .defaultText());
  }

  private static void assertProblem(List<String> problems, String variableAndValue, String rule) {
    assertTrue(
        problems.stream().anyMatch(p -> p.startsWith(variableAndValue + ": ") && p.contains(rule)),
        variableAndValue + " / " + rule + " in " + problems);
  }
}
