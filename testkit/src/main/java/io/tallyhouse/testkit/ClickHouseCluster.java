package io.tallyhouse.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * A replicated, sharded ClickHouse cluster on this machine: one ZooKeeper and {@code shards x
 * replicas} {@link ClickHouseServer} nodes of the same binary, each with the cluster's {@code
 * remote_servers}, its own {@code macros} ({@code {shard}} is the shard number, {@code {replica}} a
 * name unique in the cluster), an interserver port for replication and distributed DDL through
 * ZooKeeper. So {@code ON CLUSTER} DDL, {@code Replicated*MergeTree('/clickhouse/tables/{shard}/t',
 * '{replica}', ...)} and {@code Distributed(<name>, db, table, key)} work as on a real cluster.
 * Every node can be killed ({@link ClickHouseServer#kill()}) and started again on its ports and
 * data.
 */
public final class ClickHouseCluster implements AutoCloseable {

  private static final Pattern NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

  /** The ZooKeeper path of the distributed DDL queue (ClickHouse's documented default). */
  static final String DDL_PATH = "/clickhouse/task_queue/ddl";

  /**
   * How long a node's ZooKeeper session outlives the node. A killed replica comes back as active
   * only after its old session expired, so short; ZooKeeper allows up to 20 of its 500 ms ticks.
   */
  static final Duration SESSION_TIMEOUT = Duration.ofSeconds(6);

  private final Layout layout;
  private final ZooKeeperServer zooKeeper;
  private final List<ClickHouseServer> nodes;

  private ClickHouseCluster(
      Layout layout, ZooKeeperServer zooKeeper, List<ClickHouseServer> nodes) {
    this.layout = layout;
    this.zooKeeper = zooKeeper;
    this.nodes = List.copyOf(nodes);
  }

  /**
   * Starts ZooKeeper, then every node, and returns when each node has reached ZooKeeper. {@code
   * name} is the cluster's name in {@code ON CLUSTER} and {@code Distributed(..)}.
   */
  public static ClickHouseCluster start(Path dir, String name, int shards, int replicas) {
    if (!NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "cluster name must be an identifier ([A-Za-z_][A-Za-z0-9_]*), got: " + name);
    }
    if (shards < 1 || replicas < 1) {
      throw new IllegalArgumentException(
          "a cluster needs at least one shard and one replica, got " + shards + " x " + replicas);
    }
    TestLane.requireServersAllowed("the ClickHouse cluster");
    Path root = dir.toAbsolutePath();
    // ZooKeeper first: a node that starts while ZooKeeper is unreachable loses its DDL worker.
    ZooKeeperServer zooKeeper = ZooKeeperServer.start(root.resolve("zookeeper"), Ports.freePort());
    List<NodePorts> ports = new ArrayList<>();
    for (int i = 0; i < shards * replicas; i++) {
      ports.add(new NodePorts(Ports.freePort(), Ports.freePort(), Ports.freePort()));
    }
    Layout layout = new Layout(name, shards, replicas, ports);
    List<ClickHouseServer> nodes = new ArrayList<>();
    try {
      for (int shard = 1; shard <= shards; shard++) {
        for (int replica = 1; replica <= replicas; replica++) {
          NodePorts own = ports.get(layout.index(shard, replica));
          Path nodeDir = root.resolve(replicaName(shard, replica));
          writeClusterConfig(nodeDir, layout.config(zooKeeper, shard, replica));
          nodes.add(ClickHouseServer.start(nodeDir, own.http(), own.tcp()));
        }
      }
      for (ClickHouseServer node : nodes) {
        awaitZooKeeper(node);
      }
    } catch (RuntimeException e) {
      nodes.forEach(ClickHouseServer::stop);
      zooKeeper.stop();
      throw e;
    }
    return new ClickHouseCluster(layout, zooKeeper, nodes);
  }

  /** The cluster's name, for {@code ON CLUSTER} and {@code Distributed(..)}. */
  public String name() {
    return layout.name();
  }

  public int shards() {
    return layout.shards();
  }

  public int replicas() {
    return layout.replicas();
  }

  /** Every node, shard by shard: shard 1 replica 1, shard 1 replica 2, ..., shard 2 replica 1. */
  public List<ClickHouseServer> nodes() {
    return nodes;
  }

  /** The node of {@code shard} and {@code replica}, both counted from 1. */
  public ClickHouseServer node(int shard, int replica) {
    return nodes.get(layout.index(shard, replica));
  }

  /** The value of the {@code {replica}} macro on a node, e.g. {@code s2r1}. */
  public static String replicaName(int shard, int replica) {
    return "s" + shard + "r" + replica;
  }

  public ZooKeeperServer zooKeeper() {
    return zooKeeper;
  }

  /** Stops every node, then ZooKeeper. */
  @Override
  public void close() {
    nodes.forEach(ClickHouseServer::stop);
    zooKeeper.stop();
  }

  private static void writeClusterConfig(Path nodeDir, String config) {
    try {
      Files.createDirectories(nodeDir.resolve("config.d"));
      Files.writeString(nodeDir.resolve("config.d/cluster.xml"), config, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the cluster configuration in " + nodeDir, e);
    }
  }

  /** Waits until the node answers a query that needs its ZooKeeper session. */
  private static void awaitZooKeeper(ClickHouseServer node) {
    long deadline = System.nanoTime() + Await.STALL.toNanos();
    while (true) {
      try {
        ClickHouseHttp.execute(
            node,
            "SELECT count() FROM system.zookeeper WHERE path = '/'",
            "",
            Duration.ofSeconds(10));
        return;
      } catch (RuntimeException e) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException(
              "ClickHouse at " + node.httpUrl() + " did not reach ZooKeeper: " + e.getMessage(), e);
        }
      }
      Processes.sleep(100);
    }
  }

  private record NodePorts(int http, int tcp, int interserver) {}

  /** Where every node listens, and so the configuration each node gets. */
  private record Layout(String name, int shards, int replicas, List<NodePorts> ports) {

    int index(int shard, int replica) {
      if (shard < 1 || shard > shards || replica < 1 || replica > replicas) {
        throw new IndexOutOfBoundsException(
            "no node shard "
                + shard
                + " replica "
                + replica
                + " in a cluster of "
                + shards
                + " x "
                + replicas);
      }
      return (shard - 1) * replicas + (replica - 1);
    }

    String config(ZooKeeperServer zooKeeper, int ownShard, int ownReplica) {
      StringBuilder remote = new StringBuilder();
      for (int shard = 1; shard <= shards; shard++) {
        // internal_replication: a Distributed insert writes each row to one replica of its shard
        // and
        // the Replicated table copies it to the others (writing to all would double rows).
        remote.append("      <shard>\n        <internal_replication>true</internal_replication>\n");
        for (int replica = 1; replica <= replicas; replica++) {
          remote
              .append("        <replica><host>127.0.0.1</host><port>")
              .append(ports.get(index(shard, replica)).tcp())
              .append("</port></replica>\n");
        }
        remote.append("      </shard>\n");
      }
      return """
          <?xml version="1.0"?>
          <yandex>
            <interserver_http_host>127.0.0.1</interserver_http_host>
            <interserver_http_port>%1$d</interserver_http_port>
            <zookeeper>
              <node><host>%2$s</host><port>%3$d</port></node>
              <session_timeout_ms>%4$d</session_timeout_ms>
            </zookeeper>
            <distributed_ddl><path>%5$s</path></distributed_ddl>
            <remote_servers>
              <%6$s>
          %7$s    </%6$s>
            </remote_servers>
            <macros>
              <shard>%8$d</shard>
              <replica>%9$s</replica>
            </macros>
          </yandex>
          """
          .formatted(
              ports.get(index(ownShard, ownReplica)).interserver(),
              zooKeeper.host(),
              zooKeeper.clientPort(),
              SESSION_TIMEOUT.toMillis(),
              DDL_PATH,
              name,
              remote,
              ownShard,
              replicaName(ownShard, ownReplica));
    }
  }
}
