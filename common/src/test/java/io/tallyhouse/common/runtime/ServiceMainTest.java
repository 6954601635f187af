package io.tallyhouse.common.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tallyhouse.common.config.ConfigException;
import io.tallyhouse.common.config.Settings;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ServiceMainTest {

  private record Config(int port, long limit) {
    Config {
      if (limit > 100) {
        throw new IllegalArgumentException(
            "LIMIT=" + limit + ": must be at most 100 with this port");
      }
    }
  }

  private static Config read(Settings s) {
    return new Config(s.port("PORT", 80, "the port"), s.number("LIMIT", "a limit").orElse(10));
  }

  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  private int check(Map<String, String> env, String... args) {
    return ServiceMain.checkOnly(
        "svc",
        args,
        env,
        ServiceMainTest::read,
        new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
  }

  @Test
  void withoutArgumentsTheServiceStarts() {
    assertEquals(-1, check(Map.of()));
  }

  @Test
  void checkConfigExitsZeroForAValidConfiguration() {
    assertEquals(0, check(Map.of("PORT", "81"), "--check-config"));
    assertTrue(out.toString(StandardCharsets.UTF_8).contains("svc: configuration OK"));
  }

  @Test
  void checkConfigListsEveryProblemAndExitsTwo() {
    assertEquals(
        ServiceMain.CONFIG_ERROR, check(Map.of("PORT", "70000", "LIMIT", "x"), "--check-config"));
    String printed = err.toString(StandardCharsets.UTF_8);
    assertTrue(printed.contains("PORT=70000: must be from 0 to 65535"), printed);
    assertTrue(printed.contains("LIMIT=x: must be a whole number"), printed);
  }

  @Test
  void aRuleOfTheConfigRecordIsReportedWithTheOthers() {
    ConfigException e =
        assertThrows(
            ConfigException.class,
            () -> ServiceMain.read(Map.of("LIMIT", "101"), ServiceMainTest::read));
    assertEquals(List.of("LIMIT=101: must be at most 100 with this port"), e.problems());
  }

  @Test
  void helpGoesToStdoutAndAnUnknownArgumentIsAUsageError() {
    assertEquals(0, check(Map.of(), "--help"));
    assertTrue(out.toString(StandardCharsets.UTF_8).contains("--check-config"));
    assertEquals(64, check(Map.of(), "--frobnicate"));
    assertTrue(err.toString(StandardCharsets.UTF_8).contains("Usage: svc"));
  }

  @Test
  void versionPrintsTheNameAndTheBuildsVersion() {
    assertEquals(0, check(Map.of(), "--version"));
    assertEquals(
        BuildVersion.current().describe("svc") + System.lineSeparator(),
        out.toString(StandardCharsets.UTF_8));
    assertTrue(
        out.toString(StandardCharsets.UTF_8)
            .matches("svc \\d+\\.\\d+\\.\\d+\\S*( \\(commit \\w+\\))?\\R"),
        out.toString(StandardCharsets.UTF_8));
  }
}
