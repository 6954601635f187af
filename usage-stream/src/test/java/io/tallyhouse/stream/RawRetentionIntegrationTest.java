package io.tallyhouse.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.ClickHouseConfig;
import io.tallyhouse.common.clickhouse.Migrations;
import io.tallyhouse.testkit.ClickHouseEndpoint;
import io.tallyhouse.testkit.Infra;
import java.io.ByteArrayOutputStream;
import java.time.LocalDate;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** Retention of usage_events drops whole day partitions before the cut-off and nothing after it. */
class RawRetentionIntegrationTest {

  @Test
  void dayPartitionsBeforeTheCutOffAreDropped() {
    ClickHouseEndpoint ch = Infra.clickhouse();
    String name = "rr_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    try (ClickHouse clickHouse = new ClickHouse(new ClickHouseConfig(ch.httpUrl(), ch.user(), ch.password(), name))) {
      Migrations.apply(clickHouse, "clickhouse/migrations");
      ByteArrayOutputStream rows = new ByteArrayOutputStream();
      for (String day : List.of("2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04")) {
        for (int i = 0; i < 3; i++) {
          rows.writeBytes(RawEventRow.toJson(Events.event("acme", day + "-" + i, day + "T12:00:0" + i + "Z", null, "1")));
          rows.write('\n');
        }
      }
      clickHouse.insertJsonEachRow("usage_events", rows.toByteArray());

      List<LocalDate> dropped = ClickHouseWriter.dropPartitionsBefore(clickHouse, LocalDate.parse("2026-01-03"));

      assertEquals(List.of(LocalDate.parse("2026-01-01"), LocalDate.parse("2026-01-02")), dropped.stream().sorted().toList());
      assertEquals(List.of("2026-01-03", "2026-01-04"), clickHouse.query(
              "SELECT DISTINCT toString(date) AS day FROM usage_events ORDER BY day").stream()
          .map(r -> r.get("day").asText()).toList());
      assertEquals(6, clickHouse.query("SELECT count() AS n FROM usage_events").get(0).get("n").asLong());
      clickHouse.execute("DROP DATABASE IF EXISTS " + io.tallyhouse.common.clickhouse.SqlLiteral.identifier(name));
    }
  }
}
