package io.tallyhouse.bench;

import com.fasterxml.jackson.databind.JsonNode;
import io.tallyhouse.common.clickhouse.ClickHouse;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.List;

/**
 * ClickHouse's server-wide counters of what it was fed and what its merges rewrote (system.events,
 * cumulative since the server started): the difference of two readings is what one interval cost.
 *
 * @param insertQueries INSERT statements ({@code InsertQuery}); a materialized view's insert into
 *     its target table is not one
 * @param insertedRows rows of those statements ({@code InsertedRows})
 * @param mergedRows rows read by background merges ({@code MergedRows}), every table's
 */
record ClickHouseCounters(long insertQueries, long insertedRows, long mergedRows) {

  static final String QUERY =
      "SELECT event, value FROM system.events"
          + " WHERE event IN ('InsertQuery', 'InsertedRows', 'MergedRows')";

  static ClickHouseCounters read(ClickHouse clickHouse) {
    return of(clickHouse.querySystem(QUERY));
  }

  /**
   * The counters of {@link #QUERY}'s rows; ClickHouse lists only events that happened, so a missing
   * one is 0.
   */
  static ClickHouseCounters of(List<JsonNode> rows) {
    long inserts = 0;
    long inserted = 0;
    long merged = 0;
    for (JsonNode row : rows) {
      // UInt64 arrives as a quoted string in JSON (output_format_json_quote_64bit_integers).
      long value = Long.parseLong(row.get("value").asText());
      switch (row.get("event").asText()) {
        case "InsertQuery" -> inserts = value;
        case "InsertedRows" -> inserted = value;
        case "MergedRows" -> merged = value;
        default -> throw new IllegalArgumentException("not asked for: " + row);
      }
    }
    return new ClickHouseCounters(inserts, inserted, merged);
  }

  /** What happened between {@code earlier} and this reading. */
  ClickHouseCounters since(ClickHouseCounters earlier) {
    return new ClickHouseCounters(
        insertQueries - earlier.insertQueries,
        insertedRows - earlier.insertedRows,
        mergedRows - earlier.mergedRows);
  }

  /** Rows per INSERT statement, 1 decimal; 0 without any. */
  BigDecimal rowsPerInsert() {
    return ratio(insertedRows, insertQueries, 1);
  }

  /** How often merges rewrote an inserted row, 2 decimals; 0 without any row inserted. */
  BigDecimal mergedRowsPerInsertedRow() {
    return ratio(mergedRows, insertedRows, 2);
  }

  /** INSERT statements per second over {@code nanos}, 1 decimal. */
  BigDecimal insertQueriesPerSecond(long nanos) {
    return ratio(insertQueries * 1_000_000_000L, nanos, 1);
  }

  private static BigDecimal ratio(long numerator, long denominator, int scale) {
    return denominator == 0
        ? BigDecimal.ZERO.setScale(scale)
        : BigDecimal.valueOf(numerator)
            .divide(BigDecimal.valueOf(denominator), scale, RoundingMode.HALF_UP);
  }
}
