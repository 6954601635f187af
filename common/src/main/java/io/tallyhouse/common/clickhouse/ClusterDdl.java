package io.tallyhouse.common.clickhouse;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Derives the cluster form of the single-node migration statements, so the migration files stay the
 * one definition of the tables. Fed every statement of every migration in order (also those applied
 * before: it learns which tables are sharded from their CREATE TABLE):
 *
 * <ul>
 *   <li>a table with an {@code account_id} column: {@code <table>_local} on every node, engine
 *       {@code Replicated<Engine>} with ZooKeeper path {@code
 *       /clickhouse/tables/{shard}/<database>/<table>_local} and replica {@code {replica}}, plus a
 *       {@code Distributed} table under the plain name sharded by {@code cityHash64(account_id)}:
 *       every row of an account lives on one shard, so FINAL and per-account sums are complete on
 *       it;
 *   <li>a table without one ({@code stream_generations}, {@code schema_migrations}): small ledgers
 *       every node must be able to answer from, replicated to every node under the plain name
 *       through one ZooKeeper path, {@code /clickhouse/tables/all/<database>/<table>}, replica
 *       {@code {shard}-{replica}} (unique across the cluster);
 *   <li>a materialized view: created on every node over the local tables, so each shard's view sees
 *       the inserts its own shard receives.
 * </ul>
 *
 * Every statement carries {@code ON CLUSTER} and names its tables with the database, since each
 * node runs it on its own. A statement of another shape is refused: a migration that needs one
 * extends this class (with a test) rather than the cluster getting a second copy of the SQL.
 */
public final class ClusterDdl {

  private static final Pattern CREATE_TABLE =
      Pattern.compile(
          "CREATE TABLE IF NOT EXISTS (\\w+) \\((.*)\\)\\s*ENGINE = (\\w*MergeTree)(?:\\(([^)]*)\\))?(.*)",
          Pattern.DOTALL);
  private static final Pattern MATERIALIZED_VIEW =
      Pattern.compile(
          "CREATE MATERIALIZED VIEW IF NOT EXISTS (\\w+) TO (\\w+)(\\s+AS\\s+SELECT\\s.*?\\sFROM\\s+)(\\w+)(.*)",
          Pattern.DOTALL);
  private static final Pattern ACCOUNT_COLUMN =
      Pattern.compile("(?:^|[(,])\\s*account_id\\s+\\w", Pattern.MULTILINE);

  private final String cluster;
  private final String database;

  /** Each table seen so far: whether it is sharded (true) or replicated to every node. */
  private final Map<String, Boolean> sharded = new HashMap<>();

  public ClusterDdl(String cluster, String database) {
    this.cluster = SqlLiteral.identifier(cluster);
    this.database = SqlLiteral.identifier(database);
  }

  /** The name of a sharded table's table on each node. */
  static String localName(String table) {
    return table + "_local";
  }

  /** The cluster statements that stand for the single-node {@code statement}. */
  public List<String> of(String statement) {
    String trimmed = statement.strip();
    Matcher table = CREATE_TABLE.matcher(trimmed);
    if (table.matches()) {
      return createTable(table);
    }
    Matcher view = MATERIALIZED_VIEW.matcher(trimmed);
    if (view.matches()) {
      return List.of(
          "CREATE MATERIALIZED VIEW IF NOT EXISTS "
              + database
              + "."
              + view.group(1)
              + " ON CLUSTER "
              + cluster
              + " TO "
              + onNode(view.group(2))
              + view.group(3)
              + onNode(view.group(4))
              + view.group(5));
    }
    throw new IllegalArgumentException(
        "no cluster form is known for this migration statement (extend ClusterDdl): " + trimmed);
  }

  private List<String> createTable(Matcher m) {
    String name = m.group(1);
    String columns = m.group(2);
    String engine = m.group(3);
    String arguments = m.group(4) == null || m.group(4).isBlank() ? "" : ", " + m.group(4).strip();
    String rest = m.group(5);
    boolean byAccount = ACCOUNT_COLUMN.matcher(columns).find();
    sharded.put(name, byAccount);
    if (!byAccount) {
      return List.of(
          create(
              name,
              columns,
              engine,
              "/clickhouse/tables/all/" + database + "/" + name,
              "{shard}-{replica}",
              arguments,
              rest));
    }
    String local = localName(name);
    return List.of(
        create(
            local,
            columns,
            engine,
            "/clickhouse/tables/{shard}/" + database + "/" + local,
            "{replica}",
            arguments,
            rest),
        "CREATE TABLE IF NOT EXISTS "
            + database
            + "."
            + name
            + " ON CLUSTER "
            + cluster
            + " AS "
            + database
            + "."
            + local
            + " ENGINE = Distributed("
            + cluster
            + ", "
            + database
            + ", "
            + local
            + ", cityHash64(account_id))");
  }

  private String create(
      String table,
      String columns,
      String engine,
      String zooKeeperPath,
      String replica,
      String arguments,
      String rest) {
    return "CREATE TABLE IF NOT EXISTS "
        + database
        + "."
        + table
        + " ON CLUSTER "
        + cluster
        + " ("
        + columns
        + ") ENGINE = Replicated"
        + engine
        + "("
        + SqlLiteral.string(zooKeeperPath)
        + ", "
        + SqlLiteral.string(replica)
        + arguments
        + ")"
        + rest;
  }

  /** The table on each node that holds what {@code table} holds: the local one if sharded. */
  private String onNode(String table) {
    Boolean byAccount = sharded.get(table);
    if (byAccount == null) {
      throw new IllegalArgumentException(
          "a materialized view names table "
              + table
              + ", which no earlier migration creates: the cluster layout cannot place it");
    }
    return database + "." + (byAccount ? localName(table) : table);
  }
}
