package io.tallyhouse.common.clickhouse;

import java.util.Map;

/**
 * How the Tallyhouse tables are laid out in a database: on a single node, or across the shards and
 * replicas of a ClickHouse cluster (named in the servers' {@code remote_servers}). {@code
 * tallyhouse migrate} records the layout in {@code schema_migrations}; the services read it from
 * there ({@link SchemaVersion#require}), so their own statements can never disagree with the
 * schema.
 *
 * <p>On a cluster, a table with an {@code account_id} column keeps its rows in {@code
 * <table>_local} (a Replicated*MergeTree per shard) and is read and written through a Distributed
 * table under the plain name, sharded by {@code cityHash64(account_id)}; a table without one is
 * replicated to every node under its plain name ({@link ClusterDdl}).
 *
 * @param cluster the cluster's name; empty for a single node
 */
public record SchemaLayout(String cluster) {

  public static final SchemaLayout SINGLE_NODE = new SchemaLayout("");

  public SchemaLayout {
    cluster = cluster == null ? "" : cluster;
    if (!cluster.isEmpty() && !SqlLiteral.isIdentifier(cluster)) {
      throw new IllegalArgumentException(
          "cluster name '" + cluster + "' is not a plain name: " + SqlLiteral.IDENTIFIER_RULE);
    }
  }

  /** The layout across the shards and replicas of {@code cluster}. */
  public static SchemaLayout cluster(String cluster) {
    if (cluster == null || cluster.isEmpty()) {
      throw new IllegalArgumentException("a cluster layout needs the cluster's name");
    }
    return new SchemaLayout(cluster);
  }

  public boolean isCluster() {
    return !cluster.isEmpty();
  }

  /** {@code " ON CLUSTER <name>"} for DDL that must run on every node; empty on a single node. */
  public String onCluster() {
    return isCluster() ? " ON CLUSTER " + cluster : "";
  }

  /**
   * The table holding the rows of the sharded table {@code table} on each node: where partitions
   * are dropped and parts listed.
   */
  public String localTable(String table) {
    return isCluster() ? ClusterDdl.localName(SqlLiteral.identifier(table)) : table;
  }

  /**
   * The system table {@code name} of one replica of every shard (e.g. the parts of every shard);
   * the node's own on a single node.
   */
  public String everyShard(String systemTable) {
    String table = SqlLiteral.identifier(systemTable);
    return isCluster()
        ? "cluster(" + SqlLiteral.string(cluster) + ", 'system', " + SqlLiteral.string(table) + ")"
        : "system." + table;
  }

  /**
   * The settings of an insert into the Tallyhouse tables. On a cluster the insert into a
   * Distributed table returns only once every shard holding rows of it has them ({@code
   * insert_distributed_sync}), so "inserted" still means "stored" when the writer commits its
   * offsets.
   */
  public Map<String, String> insertSettings() {
    return isCluster() ? Map.of("insert_distributed_sync", "1") : Map.of();
  }

  /** The command that brings a database of this layout to this build's schema. */
  public String migrateCommand() {
    return isCluster() ? "tallyhouse migrate --cluster " + cluster : "tallyhouse migrate";
  }

  @Override
  public String toString() {
    return isCluster() ? "cluster " + cluster : "single node";
  }
}
