package io.tallyhouse.stream.maintenance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.ClickHouseConfig;
import io.tallyhouse.common.clickhouse.Migrations;
import io.tallyhouse.common.clickhouse.TabSeparated;
import io.tallyhouse.schemas.avro.UsageEvent;
import io.tallyhouse.stream.Events;
import io.tallyhouse.stream.rollup.GroupKey;
import io.tallyhouse.stream.rows.DistinctEventRow;
import io.tallyhouse.stream.rows.UsageDailyRow;
import io.tallyhouse.testkit.ClickHouseEndpoint;
import io.tallyhouse.testkit.Infra;
import io.tallyhouse.tools.reconcile.Reconcile;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** Retention of usage_events and reconcile against the real ClickHouse. */
class RawRetentionIntegrationTest {

  @Test
  void dayPartitionsBeforeTheCutOffAreDropped() {
    ClickHouseEndpoint ch = Infra.clickhouse();
    String name = "rr_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    try (ClickHouse clickHouse =
        new ClickHouse(new ClickHouseConfig(ch.httpUrl(), ch.user(), ch.password(), name))) {
      Migrations.apply(clickHouse);
      ByteArrayOutputStream rows = new ByteArrayOutputStream();
      for (String day : List.of("2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04")) {
        for (int i = 0; i < 3; i++) {
          rows.writeBytes(
              DistinctEventRow.toRow(
                  Events.event("acme", day + "-" + i, day + "T12:00:0" + i + "Z", null, "1")));
        }
      }
      clickHouse.insertTabSeparated("usage_events", DistinctEventRow.COLUMNS, rows.toByteArray());

      List<LocalDate> dropped =
          RawRetention.dropPartitionsBefore(clickHouse, LocalDate.parse("2026-01-03"));

      assertEquals(
          List.of(LocalDate.parse("2026-01-01"), LocalDate.parse("2026-01-02")),
          dropped.stream().sorted().toList());
      assertEquals(
          List.of("2026-01-03", "2026-01-04"),
          clickHouse
              .query("SELECT DISTINCT toString(date) AS day FROM usage_events ORDER BY day")
              .stream()
              .map(r -> r.get("day").asText())
              .toList());
      assertEquals(
          6, clickHouse.query("SELECT count() AS n FROM usage_events").get(0).get("n").asLong());
      clickHouse.execute(
          "DROP DATABASE IF EXISTS " + io.tallyhouse.common.clickhouse.SqlLiteral.identifier(name));
    }
  }

  @Test
  void reconcileReportsADifferingDayAndExitsNonZero() {
    ClickHouseEndpoint ch = Infra.clickhouse();
    String name = "rc_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    try (ClickHouse clickHouse =
        new ClickHouse(new ClickHouseConfig(ch.httpUrl(), ch.user(), ch.password(), name))) {
      Migrations.apply(clickHouse);
      var first = Events.event("acme", "a", "2026-01-01T10:00:00Z", null, "0.5");
      var second = Events.event("acme", "b", "2026-01-01T11:00:00Z", null, "0.25");
      clickHouse.insertTabSeparated(
          "usage_events",
          DistinctEventRow.COLUMNS,
          new TabSeparated(1024)
              .rows(DistinctEventRow.toRow(first))
              .rows(DistinctEventRow.toRow(second))
              .toByteArray());
      // Shard 0 counted the first event; the shard that counted the second has not written yet: one
      // request and 0.5
      // instead of two and 0.75.
      insertRollup(clickHouse, first, 0);
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      int code =
          Reconcile.run(
              clickHouse,
              LocalDate.parse("2026-01-01"),
              LocalDate.parse("2026-01-02"),
              new java.io.PrintStream(out, true, StandardCharsets.UTF_8));
      String report = out.toString(StandardCharsets.UTF_8);
      assertEquals(1, code, report);
      assertTrue(report.contains("DIFF acme 2026-01-01"), report);
      assertTrue(report.contains("requests=2") && report.contains("requests=1"), report);

      // Once the other shard's row is there, the sum over shards agrees with the raw table.
      insertRollup(clickHouse, second, 1);
      ByteArrayOutputStream again = new ByteArrayOutputStream();
      int passing =
          Reconcile.run(
              clickHouse,
              LocalDate.parse("2026-01-01"),
              LocalDate.parse("2026-01-02"),
              new java.io.PrintStream(again, true, StandardCharsets.UTF_8));
      assertEquals(0, passing, again.toString(StandardCharsets.UTF_8));

      clickHouse.execute(
          "DROP DATABASE IF EXISTS " + io.tallyhouse.common.clickhouse.SqlLiteral.identifier(name));
    }
  }

  /** The usage_daily row of one event counted by {@code shard}, as the writer inserts it. */
  private static void insertRollup(ClickHouse clickHouse, UsageEvent event, int shard) {
    TabSeparated row = new TabSeparated(256);
    UsageDailyRow.appendRow(
        row,
        GroupKey.of(event).getBytes(StandardCharsets.UTF_8),
        shard,
        Events.totals(event),
        "2026-01-01 12:00:00");
    clickHouse.insertTabSeparated("usage_daily", UsageDailyRow.COLUMNS, row.toByteArray());
  }
}
