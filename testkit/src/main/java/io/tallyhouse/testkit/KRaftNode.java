package io.tallyhouse.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.metadata.storage.Formatter;
import org.apache.kafka.server.common.MetadataVersion;

/**
 * What every local Kafka node shares, whether it runs in this JVM ({@link LocalKafka}) or in a
 * child JVM of a {@link KafkaCluster}: KRaft storage formatted once, and the properties of a node
 * that is broker and controller at once.
 */
final class KRaftNode {

  static final String CONTROLLER_LISTENER = "CONTROLLER";

  private KRaftNode() {}

  /**
   * Formats {@code logDir} for node {@code nodeId} of cluster {@code clusterId} unless it holds a
   * formatted storage already, with the SCRAM users given ({@code SCRAM-SHA-512=[name=..,
   * password=..]}, as {@code kafka-storage format --add-scram}).
   */
  static void formatIfNeeded(Path logDir, int nodeId, String clusterId, List<String> scramUsers) {
    try {
      Files.createDirectories(logDir);
      if (Files.exists(logDir.resolve("meta.properties"))) {
        return;
      }
      Formatter formatter =
          new Formatter()
              .setNodeId(nodeId)
              .setClusterId(clusterId)
              .setDirectories(List.of(logDir.toString()))
              .setMetadataLogDirectory(logDir.toString())
              .setReleaseVersion(MetadataVersion.LATEST_PRODUCTION)
              .setControllerListenerName(CONTROLLER_LISTENER);
      if (!scramUsers.isEmpty()) {
        formatter.setScramArguments(scramUsers);
      }
      formatter.run();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot prepare Kafka storage in " + logDir, e);
    } catch (Exception e) {
      throw new IllegalStateException("cannot format Kafka storage in " + logDir, e);
    }
  }

  /**
   * A combined broker and controller: node {@code nodeId} of the quorum {@code voters} ({@code
   * id@host:port,...}), clients on {@code listener} (protocol and name) at {@code port}, its
   * controller on {@code controllerPort}, every topic it creates itself with {@code
   * replicationFactor} replicas and {@code minInsyncReplicas}.
   */
  static Properties properties(
      int nodeId,
      String voters,
      String listener,
      int port,
      int controllerPort,
      Path logDir,
      int replicationFactor,
      int minInsyncReplicas) {
    String replicas = String.valueOf(replicationFactor);
    String minIsr = String.valueOf(minInsyncReplicas);
    Properties p = new Properties();
    p.put("process.roles", "broker,controller");
    p.put("node.id", String.valueOf(nodeId));
    p.put("controller.quorum.voters", voters);
    p.put(
        "listeners",
        listener
            + "://127.0.0.1:"
            + port
            + ","
            + CONTROLLER_LISTENER
            + "://127.0.0.1:"
            + controllerPort);
    p.put("advertised.listeners", listener + "://127.0.0.1:" + port);
    p.put("inter.broker.listener.name", listener);
    p.put("controller.listener.names", CONTROLLER_LISTENER);
    p.put(
        "listener.security.protocol.map",
        listener + ":" + listener + "," + CONTROLLER_LISTENER + ":PLAINTEXT");
    p.put("log.dirs", logDir.toString());
    // Every internal topic needs the cluster's replication, or consumers and transactions silently
    // stall (with more replicas than brokers) or lose data (with fewer).
    p.put("default.replication.factor", replicas);
    p.put("min.insync.replicas", minIsr);
    p.put("offsets.topic.replication.factor", replicas);
    p.put("offsets.topic.num.partitions", "4");
    p.put("transaction.state.log.replication.factor", replicas);
    p.put("transaction.state.log.min.isr", minIsr);
    p.put("transaction.state.log.num.partitions", "4");
    p.put("share.coordinator.state.topic.replication.factor", replicas);
    p.put("share.coordinator.state.topic.min.isr", minIsr);
    p.put("group.initial.rebalance.delay.ms", "0");
    p.put("num.partitions", "3");
    return p;
  }
}
