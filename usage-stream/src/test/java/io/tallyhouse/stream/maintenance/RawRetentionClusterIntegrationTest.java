package io.tallyhouse.stream.maintenance;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.ClickHouseConfig;
import io.tallyhouse.common.clickhouse.Migrations;
import io.tallyhouse.common.clickhouse.SchemaLayout;
import io.tallyhouse.stream.Events;
import io.tallyhouse.stream.rows.DistinctEventRow;
import io.tallyhouse.testkit.Await;
import io.tallyhouse.testkit.ClickHouseCluster;
import io.tallyhouse.testkit.ClickHouseServer;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Retention in the cluster layout (learnt from the database, as migrate recorded it): the old day
 * partitions of usage_events_local go on every shard and replica, the kept ones stay.
 */
class RawRetentionClusterIntegrationTest {

  private static final String DATABASE = "th_retention";
  private static final Duration REPLICATION = Duration.ofMinutes(2);

  @Test
  void oldDayPartitionsAreDroppedOnEveryShardAndReplica(@TempDir Path dir) throws Exception {
    try (ClickHouseCluster cluster = ClickHouseCluster.start(dir, "tally", 2, 2);
        ClickHouse clickHouse = client(cluster.node(1, 1))) {
      SchemaLayout layout = SchemaLayout.cluster(cluster.name());
      // One node of every shard, each on its own port, for the statements 18.16 cannot run ON
      // CLUSTER.
      Migrations.apply(
          clickHouse,
          Migrations.plan(clickHouse, layout, Migrations.tallyhouseTables()),
          List.of(cluster.node(1, 1).httpUrl(), cluster.node(2, 1).httpUrl()));
      ByteArrayOutputStream rows = new ByteArrayOutputStream();
      for (String day : List.of("2026-01-01", "2026-01-04")) {
        for (int account = 0; account < 20; account++) {
          rows.writeBytes(
              DistinctEventRow.toRow(
                  Events.event(
                      "acct-" + account, day + "-" + account, day + "T12:00:00Z", null, "1")));
        }
      }
      clickHouse.insertTabSeparated(
          "usage_events",
          DistinctEventRow.COLUMNS,
          new ByteArrayInputStream(rows.toByteArray()),
          layout.insertSettings());
      for (ClickHouseServer node : cluster.nodes()) {
        awaitDays(node, "2026-01-01,2026-01-04");
      }

      List<LocalDate> dropped =
          RawRetention.dropPartitionsBefore(clickHouse, LocalDate.parse("2026-01-03"));

      assertEquals(List.of(LocalDate.parse("2026-01-01")), dropped);
      for (ClickHouseServer node : cluster.nodes()) {
        awaitDays(node, "2026-01-04");
      }
      assertEquals(
          20, clickHouse.query("SELECT count() AS n FROM usage_events").get(0).get("n").asLong());
    }
  }

  /** Waits until {@code node}'s own usage_events_local holds exactly the days {@code days}. */
  private static void awaitDays(ClickHouseServer node, String days) throws InterruptedException {
    try (ClickHouse clickHouse = client(node)) {
      Await.until(
          node.httpUrl() + " holding the days " + days,
          () -> days.equals(days(clickHouse)),
          REPLICATION);
    }
  }

  private static String days(ClickHouse clickHouse) {
    return String.join(
        ",",
        clickHouse
            .query("SELECT DISTINCT toString(date) AS day FROM usage_events_local ORDER BY day")
            .stream()
            .map(row -> row.get("day").asText())
            .toList());
  }

  private static ClickHouse client(ClickHouseServer node) {
    return new ClickHouse(
        new ClickHouseConfig(node.httpUrl(), node.user(), node.password(), DATABASE));
  }
}
