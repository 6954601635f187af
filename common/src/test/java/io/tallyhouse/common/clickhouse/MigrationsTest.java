package io.tallyhouse.common.clickhouse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

class MigrationsTest {

  @Test
  void statementsSplitAtLineEndingSemicolonsAndDropCommentLines() {
    String text =
        "-- a comment\nCREATE TABLE a (x String DEFAULT ';')\nENGINE = Log;\n\n-- another\nCREATE TABLE b (y UInt8) ENGINE = Log;\n";
    assertEquals(
        List.of(
            "CREATE TABLE a (x String DEFAULT ';')\nENGINE = Log",
            "CREATE TABLE b (y UInt8) ENGINE = Log"),
        Migrations.statements(text));
  }

  @Test
  void versionIsTheLeadingNumberOfTheFileName() {
    assertEquals(7, Migrations.versionOf("007_raw_events.sql"));
    assertThrows(IllegalStateException.class, () -> Migrations.versionOf("raw_events.sql"));
  }
}
