package io.tallyhouse.common.clickhouse;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The columns an {@code ALTER TABLE ... ADD COLUMN} adds, and whether its table has them all
 * already. ClickHouse 18.16 has no {@code ADD COLUMN IF NOT EXISTS}, and a migration interrupted
 * half-way runs again from its first statement, so {@link Migrations} skips such an ALTER when its
 * columns exist: its other clauses (e.g. {@code MODIFY ORDER BY}) ran with it, as one ALTER.
 */
final class AddedColumns {

  private static final Pattern ALTER_TABLE =
      Pattern.compile(
          "ALTER TABLE (?:(\\w+)\\.)?(\\w+)(?: ON CLUSTER (\\w+))? (.*)", Pattern.DOTALL);
  private static final Pattern ADD_COLUMN = Pattern.compile("ADD COLUMN (\\w+)\\s");

  private AddedColumns() {}

  /**
   * Whether {@code statement} is an {@code ALTER TABLE ... ADD COLUMN} whose table has every column
   * it adds, on this node, or with {@code ON CLUSTER} on one replica of every shard. Partly added
   * columns (an ALTER ON CLUSTER that failed on some nodes) are not skipped: the statement runs
   * again, adds them where missing and fails where present, and the next run skips it.
   */
  static boolean existIn(ClickHouse clickHouse, String statement) {
    Matcher alter = ALTER_TABLE.matcher(statement);
    if (!alter.matches()) {
      return false;
    }
    List<String> added = of(alter.group(4));
    if (added.isEmpty()) {
      return false;
    }
    String database = alter.group(1) == null ? clickHouse.database() : alter.group(1);
    String cluster = alter.group(3);
    String where =
        " WHERE database = "
            + SqlLiteral.string(database)
            + " AND table = "
            + SqlLiteral.string(alter.group(2))
            + " AND name IN ("
            + String.join(", ", added.stream().map(SqlLiteral::string).toList())
            + ")";
    long places =
        cluster == null
            ? 1
            : clickHouse
                .querySystem(
                    "SELECT uniqExact(shard_num) AS shards FROM system.clusters WHERE cluster = "
                        + SqlLiteral.string(cluster))
                .get(0)
                .get("shards")
                .asLong();
    String columns =
        cluster == null
            ? "system.columns"
            : "cluster(" + SqlLiteral.string(cluster) + ", 'system', 'columns')";
    long found =
        clickHouse
            .querySystem("SELECT count() AS found FROM " + columns + where)
            .get(0)
            .get("found")
            .asLong();
    return found == places * added.size();
  }

  /** The columns the ADD COLUMN clauses of an ALTER add. */
  static List<String> of(String clauses) {
    List<String> columns = new ArrayList<>();
    for (String clause : ClusterDdl.topLevelClauses(clauses)) {
      Matcher add = ADD_COLUMN.matcher(clause);
      if (add.lookingAt()) {
        columns.add(add.group(1));
      }
    }
    return columns;
  }
}
