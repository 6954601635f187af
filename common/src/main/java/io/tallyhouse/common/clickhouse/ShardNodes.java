package io.tallyhouse.common.clickhouse;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;

/**
 * The nodes a migration statement that ClickHouse 18.16 cannot run {@code ON CLUSTER} runs on, one
 * of every shard ({@link ClusterDdl#onEveryShard}): those {@code tallyhouse migrate --shard-url}
 * names, or else the first replica of each shard as {@code system.clusters} names it. Checked
 * before {@link Migrations} changes anything, so a wrong list changes nothing.
 */
final class ShardNodes {

  private ShardNodes() {}

  /**
   * Clients of one node of every shard of {@code layout}'s cluster: at {@code urls}, or else at the
   * host of each shard's first replica with the scheme and port of {@code entry}'s URL. Each node
   * must say it belongs to another shard, and all shards must be there.
   */
  static List<ClickHouse> of(ClickHouse entry, SchemaLayout layout, List<String> urls) {
    String cluster = SqlLiteral.string(layout.cluster());
    List<String> chosen = new ArrayList<>(urls);
    URI entryUrl = URI.create(entry.config().url());
    List<Integer> expected = new ArrayList<>();
    for (JsonNode row :
        entry.querySystem(
            "SELECT shard_num, host_name FROM system.clusters WHERE cluster = "
                + cluster
                + " AND replica_num = 1 ORDER BY shard_num")) {
      expected.add(row.get("shard_num").asInt());
      if (urls.isEmpty()) {
        chosen.add(
            entryUrl.getScheme()
                + "://"
                + row.get("host_name").asText()
                + (entryUrl.getPort() < 0 ? "" : ":" + entryUrl.getPort()));
      }
    }
    List<ClickHouse> nodes = new ArrayList<>();
    List<Integer> found = new ArrayList<>();
    List<String> problems = new ArrayList<>();
    for (String url : chosen) {
      ClickHouseConfig config = entry.config();
      ClickHouse node =
          new ClickHouse(
              new ClickHouseConfig(
                  url,
                  config.user(),
                  config.password(),
                  config.database(),
                  config.timeout(),
                  config.caCertificate()));
      nodes.add(node);
      try {
        List<JsonNode> own =
            node.querySystem(
                "SELECT DISTINCT shard_num FROM system.clusters WHERE cluster = "
                    + cluster
                    + " AND is_local = 1");
        if (own.size() != 1) {
          problems.add(url + " is not a node of cluster " + layout.cluster());
        } else {
          found.add(own.get(0).get("shard_num").asInt());
        }
      } catch (ClickHouseException e) {
        problems.add(url + " does not answer: " + e.getMessage());
      }
    }
    if (problems.isEmpty() && !found.stream().sorted().toList().equals(expected)) {
      problems.add(
          "the nodes are of shards "
              + found
              + ", but cluster "
              + layout.cluster()
              + " has "
              + expected);
    }
    if (!problems.isEmpty()) {
      nodes.forEach(ClickHouse::close);
      throw new IllegalStateException(
          "a migration alters the sorting key of sharded tables, which ClickHouse 18.16 runs on"
              + " one node of every shard, not ON CLUSTER; the nodes "
              + chosen
              + " are not one of every shard: "
              + String.join("; ", problems)
              + " (name one node of every shard with --shard-url)");
    }
    return nodes;
  }
}
