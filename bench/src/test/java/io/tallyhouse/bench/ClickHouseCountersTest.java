package io.tallyhouse.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.util.List;
import org.junit.jupiter.api.Test;

class ClickHouseCountersTest {

  private static JsonNode row(String event, String value) {
    return BenchSupport.JSON.createObjectNode().put("event", event).put("value", value);
  }

  @Test
  void readsTheCountersAsClickHousePrintsThem() {
    ClickHouseCounters counters =
        ClickHouseCounters.of(
            List.of(
                row("InsertQuery", "12"),
                row("InsertedRows", "240000"),
                row("MergedRows", "18446744073")));

    assertEquals(new ClickHouseCounters(12, 240_000, 18_446_744_073L), counters);
  }

  @Test
  void aCounterClickHouseDoesNotListYetIsZero() {
    // A fresh server lists no MergedRows before its first merge.
    ClickHouseCounters counters =
        ClickHouseCounters.of(List.of(row("InsertQuery", "3"), row("InsertedRows", "30")));

    assertEquals(new ClickHouseCounters(3, 30, 0), counters);
  }

  @Test
  void refusesARowItDidNotAskFor() {
    assertThrows(
        IllegalArgumentException.class,
        () -> ClickHouseCounters.of(List.of(row("SelectQuery", "1"))));
  }

  @Test
  void anIntervalIsTheDifferenceOfTwoReadingsAndItsRatiosFollow() {
    ClickHouseCounters before = new ClickHouseCounters(100, 1_000_000, 3_000_000);
    ClickHouseCounters after = new ClickHouseCounters(140, 1_800_000, 4_400_000);

    ClickHouseCounters interval = after.since(before);

    assertEquals(new ClickHouseCounters(40, 800_000, 1_400_000), interval);
    assertEquals(new BigDecimal("20000.0"), interval.rowsPerInsert());
    assertEquals(new BigDecimal("1.75"), interval.mergedRowsPerInsertedRow());
    // 40 inserts in 16 s.
    assertEquals(new BigDecimal("2.5"), interval.insertQueriesPerSecond(16_000_000_000L));
  }

  @Test
  void anIntervalWithoutInsertsHasRatiosOfZero() {
    ClickHouseCounters idle = new ClickHouseCounters(0, 0, 500);

    assertEquals(new BigDecimal("0.0"), idle.rowsPerInsert());
    assertEquals(new BigDecimal("0.00"), idle.mergedRowsPerInsertedRow());
    assertEquals(new BigDecimal("0.0"), idle.insertQueriesPerSecond(0));
  }
}
