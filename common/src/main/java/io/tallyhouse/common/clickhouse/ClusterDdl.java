package io.tallyhouse.common.clickhouse;

import java.util.ArrayList;
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
 *       the inserts its own shard receives;
 *   <li>{@code ALTER TABLE t ADD COLUMN ... [, MODIFY ORDER BY ...]} of a sharded table: the whole
 *       ALTER on {@code t_local}. An ALTER of a Replicated table runs on one replica of each shard,
 *       and ZooKeeper carries it to the shard's other replicas (the replica that runs it waits for
 *       them): ON CLUSTER does that for ADD COLUMN, but 18.16's distributed DDL refuses MODIFY
 *       ORDER BY ("Unsupported type of ALTER query"), so such an ALTER comes without ON CLUSTER and
 *       {@link Migrations} runs it on one node of every shard ({@link #onEveryShard}). The
 *       Distributed table {@code t} then gets the new columns by being dropped and created again
 *       over {@code t_local} ON CLUSTER: 18.16 refuses an ALTER ON CLUSTER of a table that is not
 *       replicated on a cluster of replicated shards ("isn't replicated, but shard #1 is
 *       replicated"), and a Distributed table holds no rows of its own (the writers insert
 *       synchronously), only the columns it lets readers and writers name. Of a table replicated to
 *       every node: the ALTER once, without ON CLUSTER, since all its replicas share one ZooKeeper
 *       path and a run per shard would add the column twice;
 *   <li>{@code INSERT INTO t SELECT ...}: once, on the node migrate talks to, through the
 *       Distributed tables (which spread the rows over the shards by account), never ON CLUSTER,
 *       which would insert them once per node.
 * </ul>
 *
 * Every DDL statement carries {@code ON CLUSTER} unless said otherwise above, and every statement
 * names its tables with the database. A statement of another shape is refused: a migration that
 * needs one extends this class (with a test) rather than the cluster getting a second copy of the
 * SQL.
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
  private static final Pattern ALTER_TABLE =
      Pattern.compile("ALTER TABLE (\\w+) (.*)", Pattern.DOTALL);
  private static final Pattern INSERT_SELECT =
      Pattern.compile("INSERT INTO (\\w+)(\\s+SELECT\\s.*?\\sFROM\\s+)(\\w+)(.*)", Pattern.DOTALL);
  private static final Pattern LOCAL_ALTER =
      Pattern.compile("ALTER TABLE \\w+\\.\\w+_local (.*)", Pattern.DOTALL);
  private static final String ADD_COLUMN = "ADD COLUMN ";
  private static final String MODIFY_ORDER_BY = "MODIFY ORDER BY ";
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
    Matcher alter = ALTER_TABLE.matcher(trimmed);
    if (alter.matches()) {
      return alter(alter.group(1), alter.group(2), trimmed);
    }
    Matcher insert = INSERT_SELECT.matcher(trimmed);
    if (insert.matches()) {
      return List.of(
          "INSERT INTO "
              + database
              + "."
              + known(insert.group(1), "an INSERT")
              + insert.group(2)
              + database
              + "."
              + known(insert.group(3), "an INSERT ... SELECT")
              + insert.group(4));
    }
    throw unknownShape(trimmed);
  }

  private static IllegalArgumentException unknownShape(String statement) {
    return new IllegalArgumentException(
        "no cluster form is known for this migration statement (extend ClusterDdl): " + statement);
  }

  private List<String> alter(String table, String clauses, String statement) {
    int adds = 0;
    List<String> all = topLevelClauses(clauses);
    for (String clause : all) {
      if (clause.startsWith(ADD_COLUMN)) {
        adds++;
      } else if (!clause.startsWith(MODIFY_ORDER_BY)) {
        throw unknownShape(statement);
      }
    }
    if (adds == 0) {
      throw unknownShape(statement);
    }
    if (!sharded(table, "an ALTER")) {
      return List.of("ALTER TABLE " + database + "." + table + " " + clauses);
    }
    boolean distributedDdl = adds == all.size();
    return List.of(
        "ALTER TABLE "
            + database
            + "."
            + localName(table)
            + (distributedDdl ? " ON CLUSTER " + cluster : "")
            + " "
            + clauses,
        "DROP TABLE IF EXISTS " + database + "." + table + " ON CLUSTER " + cluster,
        distributed(table));
  }

  /**
   * Whether {@code statement} (of this class) runs on one node of every shard: an ALTER of a
   * sharded table's local table that ON CLUSTER cannot carry.
   */
  public static boolean onEveryShard(String statement) {
    Matcher alter = LOCAL_ALTER.matcher(statement);
    return alter.matches() && !alter.group(1).startsWith("ON CLUSTER ");
  }

  /** The comma-separated clauses of an ALTER, split outside parentheses. */
  static List<String> topLevelClauses(String clauses) {
    List<String> result = new ArrayList<>();
    int depth = 0;
    int start = 0;
    for (int i = 0; i < clauses.length(); i++) {
      char c = clauses.charAt(i);
      if (c == '(') {
        depth++;
      } else if (c == ')') {
        depth--;
      } else if (c == ',' && depth == 0) {
        result.add(clauses.substring(start, i).strip());
        start = i + 1;
      }
    }
    result.add(clauses.substring(start).strip());
    return result;
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
        distributed(name));
  }

  /** The Distributed table {@code name} over {@code <name>_local}, on every node. */
  private String distributed(String name) {
    String local = localName(name);
    return "CREATE TABLE IF NOT EXISTS "
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
        + ", cityHash64(account_id))";
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
    return database + "." + (sharded(table, "a materialized view") ? localName(table) : table);
  }

  private String known(String table, String statement) {
    sharded(table, statement);
    return table;
  }

  /** Whether {@code table}, which an earlier migration created, is sharded. */
  private boolean sharded(String table, String statement) {
    Boolean byAccount = sharded.get(table);
    if (byAccount == null) {
      throw new IllegalArgumentException(
          statement
              + " names table "
              + table
              + ", which no earlier migration creates: the cluster layout cannot place it");
    }
    return byAccount;
  }
}
