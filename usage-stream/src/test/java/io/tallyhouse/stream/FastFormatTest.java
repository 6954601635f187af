package io.tallyhouse.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Random;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The hand-written hot-path checks and formats agree with the library versions they replace. */
class FastFormatTest {

  @Test
  void rawRowsCarryTheCreatedAndReceivedTimesAsClickHouseDateTimeAndExactMicroseconds() {
    var e = Events.event("acme", "1", "2026-11-22T23:59:59.999999Z", null, "1");
    e.setReceivedAt(Instant.parse("1970-01-01T00:00:00.5Z"));
    java.util.Map<String, String> byColumn = Events.byColumn(RawEventRow.toRow(e), RawEventRow.COLUMNS);
    assertEquals("2026-11-22", byColumn.get("date"));
    assertEquals("2026-11-22 23:59:59", byColumn.get("created_at"));
    assertEquals("1795391999999999", byColumn.get("created_at_us"));
    assertEquals("1970-01-01 00:00:00", byColumn.get("received_at"));
    assertEquals("500000", byColumn.get("received_at_us"));
  }

  @Test
  void utcDayEqualsTheLibrarysAroundMidnight() {
    for (String t : new String[] {"2026-11-20T23:59:59.999999Z", "2026-11-21T00:00:00Z", "1970-01-01T00:00:00Z",
        "2024-02-29T12:00:00Z"}) {
      Instant instant = Instant.parse(t);
      assertEquals(java.time.LocalDate.ofInstant(instant, ZoneOffset.UTC),
          Rollup.utcDay(Events.event("acme", "1", t, null, "1")));
    }
  }

  @Test
  void accountIdAndKeyHashChecksEqualTheContractsPatterns() {
    Pattern account = Pattern.compile("[A-Za-z0-9._:-]{1,128}");
    Pattern hex = Pattern.compile("[0-9a-f]{64}");
    String alphabet = "aZ09._:-/ \u00e9Ff\u001f'\"";
    Random random = new Random(11);
    for (int i = 0; i < 20_000; i++) {
      int length = random.nextInt(3) == 0 ? 64 : random.nextInt(140);
      StringBuilder s = new StringBuilder();
      for (int j = 0; j < length; j++) {
        s.append(random.nextInt(10) == 0 ? alphabet.charAt(random.nextInt(alphabet.length()))
            : "0123456789abcdef".charAt(random.nextInt(16)));
      }
      String value = s.toString();
      assertEquals(account.matcher(value).matches(), PoisonCheck.isAccountId(value), value);
      assertEquals(hex.matcher(value).matches(), PoisonCheck.isLowerHex64(value), value);
    }
  }
}
