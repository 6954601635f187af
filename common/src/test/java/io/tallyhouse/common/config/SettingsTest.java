package io.tallyhouse.common.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SettingsTest {

  private record Sample(String name, long count, int port, Duration waitTime, String mode) {}

  private static Sample read(Settings s) {
    return new Sample(
        s.text("NAME", "a name").orElse("tally"),
        s.number("COUNT", "how many").atLeast(0).atMost(10).orElse(3),
        s.port("PORT", 8080, "the port"),
        s.number("WAIT_MS", "how long to wait").millisOrElse(Duration.ofSeconds(1)),
        s.text("MODE", "the mode").oneOf(Set.of("fast", "safe")).orElse("safe"));
  }

  @Test
  void unsetVariablesTakeTheirDefaults() {
    Settings s = Settings.of(Map.of());
    Sample sample = s.validate(read(s));
    assertEquals(new Sample("tally", 3, 8080, Duration.ofSeconds(1), "safe"), sample);
  }

  @Test
  void setVariablesAreReadWithTheirUnits() {
    Settings s =
        Settings.of(
            Map.of("NAME", "x", "COUNT", " 0 ", "PORT", "0", "WAIT_MS", "250", "MODE", "fast"));
    assertEquals(new Sample("x", 0, 0, Duration.ofMillis(250), "fast"), s.validate(read(s)));
  }

  @Test
  void aNumberWhoseDefaultIsFoundAtStartIsEmptyUnlessSetAndValid() {
    Settings unset = Settings.of(Map.of());
    assertEquals(OptionalInt.empty(), unset.number("THREADS", "threads").intIfSet("per core"));
    assertEquals("per core", unset.described().get(0).defaultText());

    Settings set = Settings.of(Map.of("THREADS", "3"));
    assertEquals(OptionalInt.of(3), set.number("THREADS", "threads").intIfSet("per core"));

    Settings broken = Settings.of(Map.of("THREADS", "0"));
    assertEquals(OptionalInt.empty(), broken.number("THREADS", "threads").intIfSet("per core"));
    assertEquals(List.of("THREADS=0: must be from 1 to 2147483647"), broken.problems());
  }

  @Test
  void everyProblemIsListedAtOnceWithVariableValueAndRule() {
    Settings s =
        Settings.of(
            Map.of("NAME", " ", "COUNT", "11", "PORT", "http", "WAIT_MS", "0", "MODE", "quick"));
    Sample sample = read(s);
    ConfigException e = assertThrows(ConfigException.class, () -> s.validate(sample));
    assertEquals(
        List.of(
            "NAME= : must not be empty (unset it for the default: tally)",
            "COUNT=11: must be from 0 to 10",
            "PORT=http: must be a whole number",
            "WAIT_MS=0: must be at least 1",
            "MODE=quick: must be one of [fast, safe]"),
        e.problems());
    for (String problem : e.problems()) {
      assertTrue(e.getMessage().contains(problem), e.getMessage());
    }
  }

  @Test
  void readingDescribesEveryVariableWithItsDefault() {
    Settings s = Settings.of(Map.of());
    read(s);
    s.number("HEAP_BYTES", "bytes of the heap").orElse(123, "a quarter of the heap");
    s.text("SECRET", "a secret").orNull();
    assertEquals(
        List.of(
            new Settings.Setting("NAME", "tally", "a name"),
            new Settings.Setting("COUNT", "3", "how many"),
            new Settings.Setting("PORT", "8080", "the port"),
            new Settings.Setting("WAIT_MS", "1000", "how long to wait"),
            new Settings.Setting("MODE", "safe", "the mode"),
            new Settings.Setting("HEAP_BYTES", "a quarter of the heap", "bytes of the heap"),
            new Settings.Setting("SECRET", "", "a secret")),
        s.described());
  }

  @Test
  void requiredAndRetiredVariablesAreProblems() {
    Settings s = Settings.of(Map.of("OLD_ROWS", "5"));
    s.text("URL", "where").required();
    s.retired("OLD_ROWS", "set NEW_BYTES");
    assertEquals(
        List.of("URL (unset): must be set", "OLD_ROWS=5: no longer read; set NEW_BYTES"),
        s.problems());
  }

  @Test
  void prefixedVariablesBecomeDottedKeysAndForbiddenKeysAreProblems() {
    Settings s =
        Settings.of(
            Map.of(
                "KAFKA_PRODUCER_LINGER_MS",
                "5",
                "KAFKA_PRODUCER_ACKS",
                "1",
                "KAFKA_PRODUCER_",
                "x",
                "OTHER",
                "y"));
    Map<String, String> keys =
        s.prefixed(
            "KAFKA_PRODUCER_",
            "producer settings",
            key -> key.equals("acks") ? "fixed by the service" : null);
    assertEquals(Map.of("linger.ms", "5"), keys);
    assertEquals(List.of("KAFKA_PRODUCER_ACKS=1: fixed by the service"), s.problems());
    assertEquals("KAFKA_PRODUCER_*", s.described().get(0).name());
  }

  @Test
  void aValidConfigIsReturnedAsIs() {
    Settings s = Settings.of(Map.of());
    Object config = new Object();
    assertSame(config, s.validate(config));
  }
}
