package io.tallyhouse.stream.rows;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.tallyhouse.schemas.contract.Workspaces;
import io.tallyhouse.stream.Events;
import io.tallyhouse.stream.rollup.GroupKey;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

/** The hand-written hot-path checks and formats agree with the library versions they replace. */
class FastFormatTest {

  @Test
  void rawRowsCarryTheCreatedAndReceivedTimesAsClickHouseDateTimeAndExactMicroseconds() {
    var e = Events.event("acme", "1", "2026-11-22T23:59:59.999999Z", null, "1");
    e.setReceivedAt(Instant.parse("1970-01-01T00:00:00.5Z"));
    java.util.Map<String, String> byColumn =
        Events.byColumn(DistinctEventRow.toRow(e), DistinctEventRow.COLUMNS);
    assertEquals("2026-11-22", byColumn.get("date"));
    assertEquals("2026-11-22 23:59:59", byColumn.get("created_at"));
    assertEquals("1795391999999999", byColumn.get("created_at_us"));
    assertEquals("1970-01-01 00:00:00", byColumn.get("received_at"));
    assertEquals("500000", byColumn.get("received_at_us"));
  }

  @Test
  void rawRowsCarryTheWorkspaceAsSent() {
    var e = Events.event("acme", "1", "2026-11-22T10:00:00Z", null, "1");
    assertEquals(
        Workspaces.DEFAULT,
        Events.byColumn(DistinctEventRow.toRow(e), DistinctEventRow.COLUMNS).get("workspace_id"));
    e.setWorkspaceId("ops.eu:1");
    assertEquals(
        "ops.eu:1",
        Events.byColumn(DistinctEventRow.toRow(e), DistinctEventRow.COLUMNS).get("workspace_id"));
  }

  /**
   * Rows written to the distinct events topic by the build before workspaces lack the column; the
   * writer inserts them in the workspace default instead of stopping on them.
   */
  @Test
  void aRowWrittenBeforeWorkspacesGetsTheDefaultWorkspace() {
    var e = Events.event("beta.corp:eu-1", "gen\t1", "2026-11-22T10:00:00Z", "u\tser\\", "1");
    byte[] current = DistinctEventRow.toRow(e);
    String text = new String(current, StandardCharsets.UTF_8);
    String column = "\t" + Workspaces.DEFAULT + "\t";
    int at = text.indexOf(column);
    String before = text.substring(0, at) + "\t" + text.substring(at + column.length());
    assertEquals(
        DistinctEventRow.COLUMNS.size() - 1,
        before.split("\t", -1).length,
        "a row of the old build");

    assertEquals(
        text,
        new String(
            DistinctEventRow.withWorkspace(before.getBytes(StandardCharsets.UTF_8)),
            StandardCharsets.UTF_8));
    assertSame(current, DistinctEventRow.withWorkspace(current), "a current row stays as it is");
    byte[] other = "e1\n".getBytes(StandardCharsets.UTF_8);
    assertSame(other, DistinctEventRow.withWorkspace(other));
  }

  @Test
  void tabsAreCountedEightBytesAtATimeAsOneByOne() {
    java.util.Random random = new java.util.Random(3);
    byte[] alphabet = {'\t', 't', 0, (byte) 0x89, (byte) 0x80, (byte) 0xff, '\\', 'x', 0x7f};
    for (int n = 0; n < 5_000; n++) {
      byte[] row = new byte[random.nextInt(40)];
      int expected = 0;
      for (int i = 0; i < row.length; i++) {
        row[i] =
            random.nextBoolean()
                ? alphabet[random.nextInt(alphabet.length)]
                : (byte) random.nextInt(256);
        expected += row[i] == '\t' ? 1 : 0;
      }
      assertEquals(expected, DistinctEventRow.tabs(row), java.util.Arrays.toString(row));
    }
  }

  @Test
  void theReceivedTimeIsReadBackFromTheEndOfARawRowForFreshness() {
    var e = Events.event("acme", "1", "2026-11-22T23:59:59.999999Z", "u\tser", "1");
    e.setReceivedAt(Instant.parse("2026-11-23T00:00:01.234567Z"));
    assertEquals(1795392001234567L, DistinctEventRow.receivedAtMicros(DistinctEventRow.toRow(e)));
    e.setReceivedAt(Instant.EPOCH);
    assertEquals(0, DistinctEventRow.receivedAtMicros(DistinctEventRow.toRow(e)));

    for (String notARow : new String[] {"", "\n", "e1\n", "a\t\n", "a\t12x\n", "a\t12"}) {
      assertEquals(
          -1, DistinctEventRow.receivedAtMicros(notARow.getBytes(StandardCharsets.UTF_8)), notARow);
    }
  }

  @Test
  void utcDayEqualsTheLibrarysAroundMidnight() {
    for (String t :
        new String[] {
          "2026-11-20T23:59:59.999999Z",
          "2026-11-21T00:00:00Z",
          "1970-01-01T00:00:00Z",
          "2024-02-29T12:00:00Z"
        }) {
      Instant instant = Instant.parse(t);
      assertEquals(
          java.time.LocalDate.ofInstant(instant, ZoneOffset.UTC),
          GroupKey.utcDay(Events.event("acme", "1", t, null, "1")));
    }
  }
}
