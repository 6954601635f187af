package io.tallyhouse.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.ClickHouseConfig;
import io.tallyhouse.common.clickhouse.Migrations;
import io.tallyhouse.common.clickhouse.SqlLiteral;
import io.tallyhouse.common.clickhouse.TabSeparated;
import io.tallyhouse.schemas.avro.UsageEvent;
import io.tallyhouse.testkit.ClickHouseEndpoint;
import io.tallyhouse.testkit.Infra;
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
 * Reconcile at the money bounds on the real ClickHouse: the largest legal events of many groups, each counted in many
 * shards, agree exactly; rows whose sums wrap Decimal(38,12) identically in both tables (so the plain sums agreed)
 * are reported as impossible, naming the account and day, with the failure code.
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
    try (ClickHouse clickHouse = new ClickHouse(new ClickHouseConfig(ch.httpUrl(), ch.user(), ch.password(), name))) {
      Migrations.apply(clickHouse);
      TabSeparated raw = new TabSeparated(1 << 20);
      TabSeparated rollups = new TabSeparated(1 << 20);
      for (int user = 0; user < USERS; user++) {
        List<List<UsageEvent>> byShard = new ArrayList<>();
        for (int shard = 0; shard < SHARDS; shard++) {
          byShard.add(new ArrayList<>());
        }
        for (int i = 0; i < EVENTS_PER_USER; i++) {
          UsageEvent e = UsageEvent.newBuilder(Events.event("whale", "u" + user + "-" + i, "2026-01-01T10:00:00Z",
                  "u" + user, i % 2 == 0 ? TOP : BELOW_TOP))
              .setIsByok(true).setByokCost(new BigDecimal(i % 3 == 0 ? BELOW_TOP : TOP).setScale(12)).build();
          raw.rows(RawEventRow.toRow(e));
          byShard.get(i % SHARDS).add(e);
        }
        for (int shard = 0; shard < SHARDS; shard++) {
          List<UsageEvent> events = byShard.get(shard);
          appendRollup(rollups, events.get(0), shard, Events.totals(events.toArray(UsageEvent[]::new)));
        }
      }
      clickHouse.insertTabSeparated("usage_events", RawEventRow.COLUMNS, raw.toByteArray());
      clickHouse.insertTabSeparated("usage_daily", Rollup.COLUMNS, rollups.toByteArray());

      Result agreed = reconcile(clickHouse);
      assertEquals(0, agreed.code(), agreed.report());
      BigDecimal expected = new BigDecimal(TOP).add(new BigDecimal(BELOW_TOP))
          .multiply(BigDecimal.valueOf((long) USERS * EVENTS_PER_USER / 2));
      assertEquals(expected.setScale(12), sumOf(clickHouse, "usage_events", "cost"), "the raw side is exact");

      // Bypassing ingest: four events near 10^26, each in its own shard. Both tables' plain sums wrap to the same
      // plausible positive number, so comparing them alone would call the day reconciled.
      BigDecimal nearLimit = new BigDecimal("99999999999999999999999999");
      TabSeparated badRaw = new TabSeparated(4096);
      TabSeparated badRollups = new TabSeparated(4096);
      for (int shard = 0; shard < 4; shard++) {
        UsageEvent e = UsageEvent.newBuilder(Events.event("mallory", "m" + shard, "2026-01-02T10:00:00Z", null, "0"))
            .setCost(nearLimit.setScale(12)).build();
        badRaw.rows(RawEventRow.toRow(e));
        appendRollup(badRollups, e, shard, Events.totals(e));
      }
      clickHouse.insertTabSeparated("usage_events", RawEventRow.COLUMNS, badRaw.toByteArray());
      clickHouse.insertTabSeparated("usage_daily", Rollup.COLUMNS, badRollups.toByteArray());
      String wrapped = plainSum(clickHouse, "usage_events", "cost", "mallory");
      assertEquals(wrapped, plainSum(clickHouse, "usage_daily", "usage", "mallory"), "the plain sums agree");
      assertFalse(wrapped.startsWith("-"), "and look plausible: " + wrapped);

      Result impossible = reconcile(clickHouse);
      assertEquals(1, impossible.code(), impossible.report());
      assertTrue(impossible.report().contains("IMPOSSIBLE mallory 2026-01-02"), impossible.report());
      assertTrue(impossible.report().contains("usage_events: cost") && impossible.report().contains("usage_daily: usage"),
          impossible.report());
      assertFalse(impossible.report().contains("whale"), "the legal day still agrees: " + impossible.report());
      clickHouse.execute("DROP DATABASE IF EXISTS " + SqlLiteral.identifier(name));
    }
  }

  private record Result(int code, String report) {}

  private static Result reconcile(ClickHouse clickHouse) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int code = Reconcile.run(clickHouse, LocalDate.parse("2026-01-01"), LocalDate.parse("2026-01-02"),
        new PrintStream(out, true, StandardCharsets.UTF_8));
    return new Result(code, out.toString(StandardCharsets.UTF_8));
  }

  /** The group's row for {@code shard}, rendered by the writer's own code. */
  private static void appendRollup(TabSeparated out, UsageEvent anyOfGroup, int shard, Totals totals) {
    Rollup.appendRow(out, Rollup.groupKey(anyOfGroup).getBytes(StandardCharsets.UTF_8), shard, totals,
        "2026-01-01 12:00:00");
  }

  private static BigDecimal sumOf(ClickHouse clickHouse, String table, String column) {
    return new BigDecimal(clickHouse.query("SELECT toString(sum(" + column + ")) AS s FROM " + table + " FINAL"
        + " WHERE account_id = 'whale'").get(0).get("s").asText());
  }

  /** The plain Decimal sum as the server prints it in a JSONEachRow answer. */
  private static String plainSum(ClickHouse clickHouse, String table, String column, String account) {
    String row = new String(clickHouse.queryJsonEachRow("SELECT sum(" + column + ") AS s FROM " + table
        + " FINAL WHERE account_id = " + SqlLiteral.string(account)), StandardCharsets.UTF_8).trim();
    return row.substring(row.indexOf(':') + 1, row.length() - 1);
  }
}
