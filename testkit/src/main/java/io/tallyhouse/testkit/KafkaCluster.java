package io.tallyhouse.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListTopicsOptions;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.Uuid;

/**
 * A real Kafka cluster as its users run one: {@code n} nodes, each broker and KRaft controller at
 * once (so {@code n} controllers), each in a JVM of its own so that {@link #kill(int)} is a real
 * SIGKILL. Clients connect only through SASL_SSL with SCRAM-SHA-512 (users {@code admin}, the super
 * user, and {@code app}), ACLs are enforced, and everything is replicated as in production: {@code
 * default.replication.factor}, the offsets and transaction topics at 3 (or {@code n} when smaller),
 * {@code min.insync.replicas=2}, no automatic topic creation. A node restarted with {@link
 * #start(int)} keeps its ports and data.
 */
public final class KafkaCluster implements SecuredKafkaEndpoint, AutoCloseable {

  /** A node's JVM: small, since three of them share a 2-core test machine with everything else. */
  private static final List<String> NODE_JVM_OPTIONS =
      List.of("-Xmx384m", "-Xss1m", "-XX:+UseSerialGC");

  private static final Duration START_BOUND = Duration.ofMinutes(5);

  private record NodeSpec(int id, int port, int controllerPort, Path dir) {
    Path config() {
      return dir.resolve("server.properties");
    }

    Path log() {
      return dir.resolve("node.log");
    }

    Path started() {
      return dir.resolve("started");
    }
  }

  private final KafkaSecurity security;
  private final Map<Integer, NodeSpec> nodes = new TreeMap<>();
  private final Map<Integer, Process> processes = new TreeMap<>();

  private KafkaCluster(Path dir, int count) {
    this.security = KafkaSecurity.create(SecuredKafka.Mode.SASL_SSL_SCRAM, dir.resolve("security"));
    for (int id = 1; id <= count; id++) {
      nodes.put(
          id, new NodeSpec(id, Ports.freePort(), Ports.freePort(), dir.resolve("node-" + id)));
    }
    String voters =
        nodes.values().stream()
            .map(node -> node.id() + "@127.0.0.1:" + node.controllerPort())
            .collect(Collectors.joining(","));
    String clusterId = Uuid.randomUuid().toString();
    int replication = Math.min(3, count);
    for (NodeSpec node : nodes.values()) {
      Properties p =
          KRaftNode.properties(
              node.id(),
              voters,
              security.protocol(),
              node.port(),
              node.controllerPort(),
              node.dir().resolve("data"),
              replication,
              Math.min(2, replication));
      p.put("auto.create.topics.enable", "false");
      p.putAll(security.brokerProperties());
      p.put(KafkaClusterNode.CLUSTER_ID, clusterId);
      List<String> scramUsers = security.scramUsers();
      for (int i = 0; i < scramUsers.size(); i++) {
        p.put(KafkaClusterNode.SCRAM_USER + i, scramUsers.get(i));
      }
      write(node, p);
    }
  }

  /**
   * Starts a cluster of {@code nodes} nodes in {@code dir} (certificates, each node's data and log)
   * and returns once every broker is unfenced and the quorum has a leader.
   */
  public static KafkaCluster start(Path dir, int nodes) {
    TestLane.requireServersAllowed("Kafka cluster");
    if (nodes < 1) {
      throw new IllegalArgumentException("a Kafka cluster needs at least one node, not " + nodes);
    }
    KafkaCluster cluster = new KafkaCluster(dir.toAbsolutePath(), nodes);
    try {
      cluster.nodes.keySet().forEach(cluster::launch);
      for (int id : cluster.nodes.keySet()) {
        cluster.awaitStarted(id);
      }
      cluster.activeController();
      return cluster;
    } catch (RuntimeException e) {
      cluster.close();
      throw e;
    }
  }

  @Override
  public String bootstrapServers() {
    return nodes.values().stream()
        .map(node -> "127.0.0.1:" + node.port())
        .collect(Collectors.joining(","));
  }

  @Override
  public KafkaSecurity security() {
    return security;
  }

  /** The node ids, 1 to n. */
  public List<Integer> nodeIds() {
    return List.copyOf(nodes.keySet());
  }

  /** Whether node {@code nodeId}'s JVM runs. */
  public synchronized boolean running(int nodeId) {
    Process process = processes.get(nodeId);
    return process != null && process.isAlive();
  }

  /** SIGKILL to node {@code nodeId}'s JVM: no shutdown, no flush, as when a machine dies. */
  public synchronized void kill(int nodeId) {
    Process process = processes.remove(spec(nodeId).id());
    if (process == null) {
      return;
    }
    process.destroyForcibly();
    try {
      if (!process.waitFor(60, TimeUnit.SECONDS)) {
        throw new IllegalStateException("Kafka node " + nodeId + " survived SIGKILL for 60 s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while killing Kafka node " + nodeId, e);
    }
  }

  /**
   * Starts node {@code nodeId} again, with its ports and data, and returns once the controller has
   * unfenced it (its replicas may still be catching up: {@link #awaitFullIsr()}).
   */
  public void start(int nodeId) {
    synchronized (this) {
      if (running(nodeId)) {
        throw new IllegalStateException("Kafka node " + nodeId + " is running already");
      }
      launch(nodeId);
    }
    awaitStarted(nodeId);
  }

  /** The id of the quorum's leader, the active controller; waits while there is none. */
  public int activeController() {
    try (Admin admin = admin()) {
      long deadline = System.nanoTime() + START_BOUND.toNanos();
      Exception last = null;
      while (System.nanoTime() < deadline) {
        try {
          int leader =
              admin.describeMetadataQuorum().quorumInfo().get(30, TimeUnit.SECONDS).leaderId();
          if (leader >= 0) {
            return leader;
          }
        } catch (Exception e) {
          last = e;
        }
        Processes.sleep(200);
      }
      throw new IllegalStateException(
          "the Kafka quorum had no leader within " + START_BOUND.toSeconds() + " s", last);
    }
  }

  /**
   * Waits until every partition of every topic (internal ones included) has all its replicas in
   * sync again, as after a node came back; fails when that stops making progress.
   */
  public void awaitFullIsr() {
    try (Admin admin = admin()) {
      List<String> lagging = new ArrayList<>();
      Await.untilProgressStops(
          "every partition back to its full ISR",
          () -> {
            lagging.clear();
            lagging.addAll(laggingPartitions(admin));
            return lagging.isEmpty();
          },
          lagging::size,
          () -> "partitions still short of replicas: " + lagging);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for the ISR", e);
    }
  }

  /** Kills every node (the data stays in the cluster's directory). */
  @Override
  public void close() {
    List<Integer> running;
    synchronized (this) {
      running = List.copyOf(processes.keySet());
    }
    running.forEach(this::kill);
  }

  private static List<String> laggingPartitions(Admin admin) {
    try {
      Collection<String> topics =
          admin
              .listTopics(new ListTopicsOptions().listInternal(true))
              .names()
              .get(30, TimeUnit.SECONDS);
      List<String> lagging = new ArrayList<>();
      for (TopicDescription topic :
          admin.describeTopics(topics).allTopicNames().get(30, TimeUnit.SECONDS).values()) {
        for (TopicPartitionInfo partition : topic.partitions()) {
          if (partition.isr().size() < partition.replicas().size()) {
            lagging.add(
                topic.name()
                    + "-"
                    + partition.partition()
                    + " isr "
                    + partition.isr().stream().map(Node::id).toList());
          }
        }
      }
      return lagging;
    } catch (Exception e) {
      return List.of("(cannot describe the topics: " + e + ")");
    }
  }

  private Admin admin() {
    Map<String, Object> p = new java.util.HashMap<>(clientProperties(ADMIN));
    p.put("request.timeout.ms", 10_000);
    p.put("default.api.timeout.ms", 30_000);
    return Admin.create(p);
  }

  private NodeSpec spec(int nodeId) {
    NodeSpec node = nodes.get(nodeId);
    if (node == null) {
      throw new IllegalArgumentException(
          "no Kafka node " + nodeId + " in this cluster (nodes " + nodes.keySet() + ")");
    }
    return node;
  }

  private synchronized void launch(int nodeId) {
    NodeSpec node = spec(nodeId);
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(NODE_JVM_OPTIONS);
    command.addAll(
        List.of(
            "-cp",
            System.getProperty("java.class.path"),
            KafkaClusterNode.class.getName(),
            node.config().toString(),
            node.started().toString()));
    try {
      Files.deleteIfExists(node.started());
      processes.put(
          nodeId,
          new ProcessBuilder(command)
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.appendTo(node.log().toFile()))
              .start());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start Kafka node " + nodeId, e);
    }
  }

  private void awaitStarted(int nodeId) {
    NodeSpec node = spec(nodeId);
    long deadline = System.nanoTime() + START_BOUND.toNanos();
    while (!Files.exists(node.started())) {
      if (!running(nodeId)) {
        throw new IllegalStateException(
            "Kafka node " + nodeId + " exited while starting. Log:\n" + Processes.tail(node.log()));
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(
            "Kafka node "
                + nodeId
                + " did not start within "
                + START_BOUND.toSeconds()
                + " s. Log:\n"
                + Processes.tail(node.log()));
      }
      Processes.sleep(100);
    }
  }

  private static void write(NodeSpec node, Properties properties) {
    try {
      Files.createDirectories(node.dir());
      try (Writer writer = Files.newBufferedWriter(node.config(), StandardCharsets.UTF_8)) {
        properties.store(writer, "Kafka cluster node " + node.id());
      }
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot write the configuration of Kafka node " + node.id(), e);
    }
  }
}
