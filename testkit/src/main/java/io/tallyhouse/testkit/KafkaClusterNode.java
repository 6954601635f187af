package io.tallyhouse.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.common.utils.Time;

/**
 * The main class of one {@link KafkaCluster} node, run in a JVM of its own so that killing it is a
 * real SIGKILL: formats the node's storage if it is new, then runs {@code KafkaRaftServer} until
 * SIGTERM, or until the JVM that started it is gone (its standard input closes), so a test JVM that
 * dies leaves no broker behind.
 *
 * <p>Arguments: a properties file with the node's broker properties, plus {@value #CLUSTER_ID} and
 * {@value #SCRAM_USER}{@code N} entries, which are for formatting only; and a file it creates once
 * the broker is running and unfenced.
 */
public final class KafkaClusterNode {

  static final String CLUSTER_ID = "testkit.cluster.id";
  static final String SCRAM_USER = "testkit.scram.";

  private KafkaClusterNode() {}

  public static void main(String[] args) throws Exception {
    Properties properties = new Properties();
    try (Reader reader = Files.newBufferedReader(Path.of(args[0]), StandardCharsets.UTF_8)) {
      properties.load(reader);
    }
    String clusterId = (String) properties.remove(CLUSTER_ID);
    List<String> scramUsers = new ArrayList<>();
    for (String name : properties.stringPropertyNames()) {
      if (name.startsWith(SCRAM_USER)) {
        scramUsers.add((String) properties.remove(name));
      }
    }
    int nodeId = Integer.parseInt(properties.getProperty("node.id"));
    KRaftNode.formatIfNeeded(
        Path.of(properties.getProperty("log.dirs")), nodeId, clusterId, scramUsers);
    exitWhenParentIsGone();
    KafkaRaftServer server =
        new KafkaRaftServer(KafkaConfig.fromProps(properties, false), Time.SYSTEM);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  server.shutdown();
                  server.awaitShutdown();
                }));
    // Returns once the controller has unfenced this broker.
    server.startup();
    Files.writeString(Path.of(args[1]), "started\n");
    server.awaitShutdown();
  }

  private static void exitWhenParentIsGone() {
    Thread watcher =
        new Thread(
            () -> {
              try {
                InputStream in = System.in;
                while (in.read() >= 0) {
                  // the parent writes nothing; end of input means it exited
                }
              } catch (IOException e) {
                // the pipe broke: the parent is gone as well
              }
              Runtime.getRuntime().halt(3);
            },
            "parent-watcher");
    watcher.setDaemon(true);
    watcher.start();
  }
}
