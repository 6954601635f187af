package io.tallyhouse.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
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

  /** Where a node that can be cut off listens, behind its links on 127.0.0.1. */
  static final String CUT_OFF_HOST = "127.0.0.2";

  private final Layout layout;
  private final ZooKeeperServer zooKeeper;
  private final List<ClickHouseServer> nodes;
  private final Map<Integer, List<NetworkLink>> links;

  private ClickHouseCluster(
      Layout layout,
      ZooKeeperServer zooKeeper,
      List<ClickHouseServer> nodes,
      Map<Integer, List<NetworkLink>> links) {
    this.layout = layout;
    this.zooKeeper = zooKeeper;
    this.nodes = List.copyOf(nodes);
    this.links = Map.copyOf(links);
  }

  /**
   * Starts ZooKeeper, then every node, and returns when each node has reached ZooKeeper and a
   * distributed DDL statement has run on every node. {@code name} is the cluster's name in {@code
   * ON CLUSTER} and {@code Distributed(..)}.
   */
  public static ClickHouseCluster start(Path dir, String name, int shards, int replicas) {
    return start(dir, name, shards, replicas, Set.of());
  }

  /**
   * As {@link #start(Path, String, int, int)}, with the nodes named in {@code cuttable} (by their
   * {@link #replicaName}, e.g. {@code s2r1}) listening on {@value #CUT_OFF_HOST} and reached only
   * through {@link NetworkLink}s on their usual 127.0.0.1 ports, and reaching ZooKeeper only
   * through one, so {@link #cut} can partition such a node from everything that talks to it (its
   * clients, the other replicas fetching its parts, the nodes sending it distributed queries and
   * inserts) and from ZooKeeper, without which it neither replicates nor takes writes.
   */
  public static ClickHouseCluster start(
      Path dir, String name, int shards, int replicas, Set<String> cuttable) {
    if (!NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "cluster name must be an identifier ([A-Za-z_][A-Za-z0-9_]*), got: " + name);
    }
    if (shards < 1 || replicas < 1) {
      throw new IllegalArgumentException(
          "a cluster needs at least one shard and one replica, got " + shards + " x " + replicas);
    }
    Set<String> unknown = new TreeSet<>(cuttable);
    for (int shard = 1; shard <= shards; shard++) {
      for (int replica = 1; replica <= replicas; replica++) {
        unknown.remove(replicaName(shard, replica));
      }
    }
    if (!unknown.isEmpty()) {
      throw new IllegalArgumentException("no such nodes to make cuttable: " + unknown);
    }
    TestLane.requireServersAllowed("the ClickHouse cluster");
    Path root = dir.toAbsolutePath();
    // ZooKeeper first: a node that starts while ZooKeeper is unreachable loses its DDL worker.
    ZooKeeperServer zooKeeper = ZooKeeperServer.start(root.resolve("zookeeper"), Ports.freePort());
    List<NodePorts> ports = new ArrayList<>();
    for (int shard = 1; shard <= shards; shard++) {
      for (int replica = 1; replica <= replicas; replica++) {
        int zooKeeperLink = cuttable.contains(replicaName(shard, replica)) ? Ports.freePort() : 0;
        ports.add(
            new NodePorts(Ports.freePort(), Ports.freePort(), Ports.freePort(), zooKeeperLink));
      }
    }
    Layout layout = new Layout(name, shards, replicas, ports);
    List<ClickHouseServer> nodes = new ArrayList<>();
    Map<Integer, List<NetworkLink>> links = new HashMap<>();
    try {
      for (int shard = 1; shard <= shards; shard++) {
        for (int replica = 1; replica <= replicas; replica++) {
          int index = layout.index(shard, replica);
          NodePorts own = ports.get(index);
          if (own.cuttable()) {
            links.put(index, openLinks(own, zooKeeper));
          }
          Path nodeDir = root.resolve(replicaName(shard, replica));
          writeClusterConfig(nodeDir, layout.config(zooKeeper, shard, replica));
          nodes.add(ClickHouseServer.start(nodeDir, own.http(), own.tcp()));
        }
      }
      for (ClickHouseServer node : nodes) {
        awaitZooKeeper(node);
      }
      awaitDistributedDdl(nodes.get(0), name);
    } catch (RuntimeException e) {
      nodes.forEach(ClickHouseServer::stop);
      links.values().forEach(own -> own.forEach(NetworkLink::close));
      zooKeeper.stop();
      throw e;
    }
    return new ClickHouseCluster(layout, zooKeeper, nodes, links);
  }

  /** The links of a node that can be cut off: its three ports in, and its way to ZooKeeper. */
  private static List<NetworkLink> openLinks(NodePorts own, ZooKeeperServer zooKeeper) {
    List<NetworkLink> opened = new ArrayList<>();
    for (int port : new int[] {own.http(), own.tcp(), own.interserver()}) {
      opened.add(
          NetworkLink.open(
              new InetSocketAddress("127.0.0.1", port), new InetSocketAddress(CUT_OFF_HOST, port)));
    }
    opened.add(
        NetworkLink.open(
            new InetSocketAddress("127.0.0.1", own.zooKeeperLink()),
            new InetSocketAddress(zooKeeper.host(), zooKeeper.clientPort())));
    return opened;
  }

  /**
   * Partitions a node started as cuttable from the network: nothing reaches it and it reaches no
   * ZooKeeper, while it runs on; open connections hang rather than fail.
   */
  public void cut(int shard, int replica) {
    linksOf(shard, replica).forEach(NetworkLink::cut);
  }

  /** Ends the partition of {@link #cut}: held bytes move on, and so does the node. */
  public void heal(int shard, int replica) {
    linksOf(shard, replica).forEach(NetworkLink::heal);
  }

  private List<NetworkLink> linksOf(int shard, int replica) {
    List<NetworkLink> own = links.get(layout.index(shard, replica));
    if (own == null) {
      throw new IllegalStateException(
          replicaName(shard, replica) + " was not started as cuttable, so it cannot be cut off");
    }
    return own;
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
    links.values().forEach(own -> own.forEach(NetworkLink::close));
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

  /**
   * Waits until an {@code ON CLUSTER} statement completes on every node, so each node's DDL worker
   * is up: the statement is a no-op ({@code DROP DATABASE IF EXISTS} of a name nobody uses), yet
   * the initiator waits for every host to execute it from the queue in ZooKeeper.
   */
  private static void awaitDistributedDdl(ClickHouseServer node, String cluster) {
    long deadline = System.nanoTime() + Await.STALL.toNanos();
    while (true) {
      try {
        ClickHouseHttp.execute(
            node,
            "DROP DATABASE IF EXISTS tallyhouse_cluster_probe ON CLUSTER " + cluster,
            ClickHouseHttp.setting("distributed_ddl_task_timeout", "30"),
            Duration.ofSeconds(40));
        return;
      } catch (RuntimeException e) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException(
              "distributed DDL did not complete on every node of cluster "
                  + cluster
                  + ": "
                  + e.getMessage(),
              e);
        }
      }
      Processes.sleep(500);
    }
  }

  /** A node's ports; {@code zooKeeperLink} is 0 unless the node can be cut off. */
  private record NodePorts(int http, int tcp, int interserver, int zooKeeperLink) {
    boolean cuttable() {
      return zooKeeperLink != 0;
    }
  }

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
      NodePorts own = ports.get(index(ownShard, ownReplica));
      // A node that can be cut off listens elsewhere than the address it is known by, where its
      // links listen: others reach it only through them.
      String listen =
          own.cuttable()
              ? "<listen_host replace=\"replace\">" + CUT_OFF_HOST + "</listen_host>"
              : "";
      return """
          <?xml version="1.0"?>
          <yandex>
            %10$s
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
              own.interserver(),
              zooKeeper.host(),
              own.cuttable() ? own.zooKeeperLink() : zooKeeper.clientPort(),
              SESSION_TIMEOUT.toMillis(),
              DDL_PATH,
              name,
              remote,
              ownShard,
              replicaName(ownShard, ownReplica),
              listen);
    }
  }
}
