package io.tallyhouse.common.money;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.ClickHouseConfig;
import io.tallyhouse.common.clickhouse.JsonEachRowText;
import io.tallyhouse.common.clickhouse.TabSeparated;
import io.tallyhouse.testkit.ClickHouseEndpoint;
import io.tallyhouse.testkit.Infra;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link MoneyTotals#sumSql} on the real server: exact for the largest legal rows, and rows whose
 * plain {@code sum} wraps, or that are negative or dearer than their requests allow, are refused.
 */
class MoneyTotalsIntegrationTest {

  private static final String DATABASE = "money_totals_test";
  private static final List<String> COLUMNS = List.of("g", "requests", "amount");
  private static final BigDecimal TOP = new BigDecimal("1000000000");
  private static final BigDecimal BELOW_TOP = new BigDecimal("999999999.999999999999");
  private static ClickHouse clickHouse;

  @BeforeAll
  static void connect() {
    ClickHouseEndpoint endpoint = Infra.clickhouse();
    clickHouse =
        new ClickHouse(
            new ClickHouseConfig(
                endpoint.httpUrl(), endpoint.user(), endpoint.password(), DATABASE));
    clickHouse.createDatabaseIfMissing();
    clickHouse.execute(
        "CREATE TABLE IF NOT EXISTS t (g String, requests UInt64, amount Decimal(38, 12))"
            + " ENGINE = MergeTree ORDER BY g");
  }

  @AfterAll
  static void close() {
    clickHouse.execute("DROP DATABASE IF EXISTS " + DATABASE);
    clickHouse.close();
  }

  private static void insert(String group, long requests, BigDecimal amount, int rows) {
    TabSeparated out = new TabSeparated(64 * rows);
    for (int i = 0; i < rows; i++) {
      out.string(group).number(requests).decimal(amount).endRow();
    }
    clickHouse.insertTabSeparated("t", COLUMNS, out.toByteArray());
  }

  /** The group's total through sumSql and the strict reader. */
  private static BigDecimal total(String group) {
    List<String> aliases = MoneyTotals.aliases("amount_sum");
    List<String> columns = new ArrayList<>(aliases);
    columns.add("requests_sum");
    JsonEachRowText reader = new JsonEachRowText(columns);
    List<BigDecimal> totals = new ArrayList<>();
    reader.read(
        clickHouse.queryJsonEachRow(
            "SELECT sum(requests) AS requests_sum, "
                + MoneyTotals.sumSql("amount", "amount_sum")
                + " FROM t WHERE g = '"
                + group
                + "' GROUP BY g"),
        row ->
            totals.add(
                MoneyTotals.total(
                    "amount",
                    reader.value(row, aliases.get(0)),
                    reader.value(row, aliases.get(1)),
                    reader.value(row, aliases.get(2)),
                    reader.value(row, aliases.get(3)),
                    new BigInteger(reader.value(row, "requests_sum")))));
    assertEquals(1, totals.size());
    return totals.get(0);
  }

  @Test
  void theLargestLegalRowsSumExactly() {
    // 200 rows, as 200 shards would write them, each of a thousand events at the top or just below
    // it.
    insert("top", 1000, TOP.multiply(BigDecimal.valueOf(1000)), 100);
    insert("top", 1000, BELOW_TOP.multiply(BigDecimal.valueOf(1000)), 100);
    BigDecimal expected = TOP.add(BELOW_TOP).multiply(BigDecimal.valueOf(100_000));
    assertEquals(expected.setScale(12), total("top"));
  }

  @Test
  void rowsWhosePlainSumWrapsAreRefusedNotServed() {
    BigDecimal huge = new BigDecimal("99999999999999999999999999");
    // Four rows: 18.16 wraps their sum to a positive amount below 10^26 (what the sum alone cannot
    // give away).
    insert("wrapped", 100_000_000_000_000_000L, huge, 4);
    // What the issue saw: 18.16 wraps the plain sum; a current server may refuse instead, either
    // way no total.
    List<String> plain = new ArrayList<>();
    try {
      new JsonEachRowText(List.of("s"))
          .read(
              clickHouse.queryJsonEachRow("SELECT sum(amount) AS s FROM t WHERE g = 'wrapped'"),
              row -> plain.add(row[0]));
      assertFalse(
          plain.get(0).equals(huge.multiply(BigDecimal.valueOf(4)).setScale(12).toPlainString()));
    } catch (RuntimeException refusedByServer) {
      // nothing to compare
    }
    assertThrows(ImpossibleTotalException.class, () -> total("wrapped"));
  }

  @Test
  void aNegativeRowIsRefusedEvenWhenTheSumLooksLegal() {
    insert("negative", 1, new BigDecimal("-5"), 1);
    insert("negative", 1, new BigDecimal("10"), 1);
    assertThrows(ImpossibleTotalException.class, () -> total("negative"));
  }

  @Test
  void aRowAboveItsRequestsTimesTheBoundIsRefused() {
    insert("dear", 1, TOP.add(new BigDecimal("0.000000000001")), 1);
    assertThrows(ImpossibleTotalException.class, () -> total("dear"));
  }
}
