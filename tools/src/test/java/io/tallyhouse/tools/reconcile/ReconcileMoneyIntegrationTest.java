package io.tallyhouse.tools.reconcile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.ClickHouseConfig;
import io.tallyhouse.common.clickhouse.Migrations;
import io.tallyhouse.common.clickhouse.SqlLiteral;
import io.tallyhouse.testkit.ClickHouseEndpoint;
import io.tallyhouse.testkit.Infra;
import io.tallyhouse.tools.reconcile.UsageRows.Event;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * Reconcile at the money bounds on the real ClickHouse: the largest legal events of many groups,
 * each counted in many shards, agree exactly; rows whose sums wrap Decimal(38,12) identically in
 * both tables (so the plain sums agreed) are reported as impossible, naming the account and day,
 * with the failure code.
 */
class ReconcileMoneyIntegrationTest {

  private static final int SHARDS = 64;
  private static final int USERS = 20;
  private static final int EVENTS_PER_USER = 2 * SHARDS;
  private static final String TOP = "1000000000";
  private static final String BELOW_TOP = "999999999.999999999999";

  @Test
  void theLargestLegalEventsAgreeExactlyAndWrappingSumsAreImpossible() throws Exception {
    ClickHouseEndpoint ch = Infra.clickhouse();
    String name = "rm_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    try (ClickHouse clickHouse =
        new ClickHouse(new ClickHouseConfig(ch.httpUrl(), ch.user(), ch.password(), name))) {
      Migrations.apply(clickHouse);
      UsageRows rows = new UsageRows();
      for (int user = 0; user < USERS; user++) {
        List<List<Event>> byShard = new ArrayList<>();
        for (int shard = 0; shard < SHARDS; shard++) {
          byShard.add(new ArrayList<>());
        }
        List<Event> events = new ArrayList<>();
        for (int i = 0; i < EVENTS_PER_USER; i++) {
          Event e =
              Event.of("whale", "2026-01-01", "u" + user + "-" + i, i % 2 == 0 ? TOP : BELOW_TOP)
                  .withByok(i % 3 == 0 ? BELOW_TOP : TOP);
          events.add(e);
          byShard.get(i % SHARDS).add(e);
        }
        rows.events(events);
        for (int shard = 0; shard < SHARDS; shard++) {
          rows.rollup("u" + user, shard, byShard.get(shard));
        }
      }
      rows.insert(clickHouse);

      Result agreed = reconcile(clickHouse);
      assertEquals(0, agreed.code(), agreed.report());
      BigDecimal expected =
          new BigDecimal(TOP)
              .add(new BigDecimal(BELOW_TOP))
              .multiply(BigDecimal.valueOf((long) USERS * EVENTS_PER_USER / 2));
      assertEquals(
          expected.setScale(12),
          sumOf(clickHouse, "usage_events", "cost"),
          "the raw side is exact");

      // Bypassing ingest: four events near 10^26, each in its own shard. Both tables' plain sums
      // wrap to the same
      // plausible positive number, so comparing them alone would call the day reconciled.
      String nearLimit = "99999999999999999999999999";
      for (int shard = 0; shard < 4; shard++) {
        Event e = Event.of("mallory", "2026-01-02", "m" + shard, nearLimit);
        rows.events(List.of(e)).rollup("", shard, List.of(e));
      }
      rows.insert(clickHouse);
      String wrapped = plainSum(clickHouse, "usage_events", "cost", "mallory");
      assertEquals(
          wrapped, plainSum(clickHouse, "usage_daily", "usage", "mallory"), "the plain sums agree");
      assertFalse(wrapped.startsWith("-"), "and look plausible: " + wrapped);

      Result impossible = reconcile(clickHouse);
      assertEquals(1, impossible.code(), impossible.report());
      assertTrue(
          impossible.report().contains("IMPOSSIBLE mallory 2026-01-02"), impossible.report());
      assertTrue(
          impossible.report().contains("usage_events: cost")
              && impossible.report().contains("usage_daily: usage"),
          impossible.report());
      assertFalse(
          impossible.report().contains("whale"),
          "the legal day still agrees: " + impossible.report());
      clickHouse.execute("DROP DATABASE IF EXISTS " + SqlLiteral.identifier(name));
    }
  }

  private record Result(int code, String report) {}

  private static Result reconcile(ClickHouse clickHouse) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int code =
        Reconcile.run(
            clickHouse,
            LocalDate.parse("2026-01-01"),
            LocalDate.parse("2026-01-02"),
            new PrintStream(out, true, StandardCharsets.UTF_8));
    return new Result(code, out.toString(StandardCharsets.UTF_8));
  }

  private static BigDecimal sumOf(ClickHouse clickHouse, String table, String column) {
    return new BigDecimal(
        clickHouse
            .query(
                "SELECT toString(sum("
                    + column
                    + ")) AS s FROM "
                    + table
                    + " FINAL"
                    + " WHERE account_id = 'whale'")
            .get(0)
            .get("s")
            .asText());
  }

  /** The plain Decimal sum as the server prints it in a JSONEachRow answer. */
  private static String plainSum(
      ClickHouse clickHouse, String table, String column, String account) {
    String row =
        new String(
                clickHouse.queryJsonEachRow(
                    "SELECT sum("
                        + column
                        + ") AS s FROM "
                        + table
                        + " FINAL WHERE account_id = "
                        + SqlLiteral.string(account)),
                StandardCharsets.UTF_8)
            .trim();
    return row.substring(row.indexOf(':') + 1, row.length() - 1);
  }
}
