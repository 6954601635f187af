package io.tallyhouse.common.clickhouse;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class AddedColumnsTest {

  @Test
  void theColumnsAreThoseOfTheAddColumnClausesOnly() {
    assertEquals(
        List.of("workspace_id"),
        AddedColumns.of(
            "ADD COLUMN workspace_id String AFTER account_id, MODIFY ORDER BY (a, workspace_id)"));
    assertEquals(
        List.of("a", "b"),
        AddedColumns.of("ADD COLUMN a Decimal(38, 12) DEFAULT 0, ADD COLUMN b String"));
    assertEquals(List.of(), AddedColumns.of("MODIFY ORDER BY (a, b)"));
  }
}
