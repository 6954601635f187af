package io.tallyhouse.common.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Map;
import org.junit.jupiter.api.Test;

class EnvNumbersTest {

  @Test
  void unsetGivesTheDefaultAndSetValuesAreReadTrimmed() {
    assertEquals(6, EnvNumbers.positiveInt(Map.of(), "EVENTS_PARTITIONS", 6));
    assertEquals(12, EnvNumbers.positiveInt(Map.of("EVENTS_PARTITIONS", " 12 "), "EVENTS_PARTITIONS", 6));
    assertEquals(0, EnvNumbers.port(Map.of("HTTP_PORT", "0"), "HTTP_PORT", 8080));
    assertEquals(5_000_000_000L, EnvNumbers.positiveLong(Map.of("MAX", "5000000000"), "MAX", 1));
  }

  @Test
  void aValueThatIsNotAWholeNumberIsNamedWithTheValue() {
    assertEquals("WRITER_BATCH_ROWS must be a whole number, got: 20k",
        error(() -> EnvNumbers.positiveInt(Map.of("WRITER_BATCH_ROWS", "20k"), "WRITER_BATCH_ROWS", 20_000)));
    assertEquals("HTTP_PORT must be a whole number, got: 80.5",
        error(() -> EnvNumbers.port(Map.of("HTTP_PORT", "80.5"), "HTTP_PORT", 8080)));
  }

  @Test
  void aValueOutOfRangeIsNamedWithTheRange() {
    assertEquals("EVENTS_PARTITIONS must be from 1 to 2147483647, got: 0",
        error(() -> EnvNumbers.positiveInt(Map.of("EVENTS_PARTITIONS", "0"), "EVENTS_PARTITIONS", 6)));
    assertEquals("HTTP_PORT must be from 0 to 65535, got: 65536",
        error(() -> EnvNumbers.port(Map.of("HTTP_PORT", "65536"), "HTTP_PORT", 8080)));
    assertEquals("MAX_IN_FLIGHT_BYTES must be at least 1, got: -1",
        error(() -> EnvNumbers.positiveLong(Map.of("MAX_IN_FLIGHT_BYTES", "-1"), "MAX_IN_FLIGHT_BYTES", 1)));
    // Beyond an int: not silently wrapped around.
    assertEquals("ROLLUP_CACHE_GROUPS must be from 1 to 2147483647, got: 3000000000",
        error(() -> EnvNumbers.positiveInt(Map.of("ROLLUP_CACHE_GROUPS", "3000000000"), "ROLLUP_CACHE_GROUPS", 1)));
  }

  private static String error(org.junit.jupiter.api.function.Executable call) {
    return assertThrows(IllegalArgumentException.class, call).getMessage();
  }
}
