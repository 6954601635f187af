package io.tallyhouse.testkit;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;

/**
 * A real one-node Kafka cluster (KRaft, broker and controller combined) inside this JVM, on fixed
 * ports so clients keep working across {@link #restart()}. Storage survives a restart; it is
 * formatted only once.
 */
public final class LocalKafka implements KafkaEndpoint {

  private final Path dir;
  private final int port;
  private final int controllerPort;
  private final Security security;
  private KafkaRaftServer server;

  /**
   * The client listener's security: its protocol (also the listener's name), the broker properties
   * it needs on top of the one-node set, and the SCRAM users formatted into the storage ({@code
   * SCRAM-SHA-512=[name=..,password=..]}, as {@code kafka-storage format --add-scram}).
   */
  public record Security(
      String protocol, Map<String, String> brokerProperties, List<String> scramUsers) {
    public static final Security PLAINTEXT = new Security("PLAINTEXT", Map.of(), List.of());

    public Security {
      brokerProperties = Map.copyOf(brokerProperties);
      scramUsers = List.copyOf(scramUsers);
    }
  }

  private LocalKafka(Path dir, int port, int controllerPort, Security security) {
    this.dir = dir;
    this.port = port;
    this.controllerPort = controllerPort;
    this.security = security;
  }

  /**
   * Formats {@code dir} if needed and starts the broker on {@code port}, its controller on {@code
   * controllerPort}.
   */
  public static LocalKafka start(Path dir, int port, int controllerPort) {
    return start(dir, port, controllerPort, Security.PLAINTEXT);
  }

  /** As {@link #start(Path, int, int)}, with the client listener secured by {@code security}. */
  public static LocalKafka start(Path dir, int port, int controllerPort, Security security) {
    TestLane.requireServersAllowed("Kafka");
    LocalKafka kafka = new LocalKafka(dir.toAbsolutePath(), port, controllerPort, security);
    kafka.startServer();
    return kafka;
  }

  @Override
  public String bootstrapServers() {
    return "127.0.0.1:" + port;
  }

  public synchronized boolean running() {
    return server != null;
  }

  /** Stops the broker (a clean shutdown); the data stays for {@link #restart()}. */
  public synchronized void stop() {
    if (server != null) {
      server.shutdown();
      server.awaitShutdown();
      server = null;
    }
  }

  public synchronized void restart() {
    stop();
    startServer();
  }

  private synchronized void startServer() {
    Path logDir = dir.resolve("log");
    KRaftNode.formatIfNeeded(logDir, 1, Uuid.randomUuid().toString(), security.scramUsers());
    KafkaRaftServer raft =
        new KafkaRaftServer(KafkaConfig.fromProps(properties(logDir), false), Time.SYSTEM);
    raft.startup();
    server = raft;
  }

  private Properties properties(Path logDir) {
    // One node: every internal topic has replication 1.
    Properties p =
        KRaftNode.properties(
            1,
            "1@127.0.0.1:" + controllerPort,
            security.protocol(),
            port,
            controllerPort,
            logDir,
            1,
            1);
    p.put("auto.create.topics.enable", "true");
    p.putAll(security.brokerProperties());
    return p;
  }
}
