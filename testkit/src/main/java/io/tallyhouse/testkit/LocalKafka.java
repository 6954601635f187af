package io.tallyhouse.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.metadata.storage.Formatter;
import org.apache.kafka.server.common.MetadataVersion;

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
    try {
      Files.createDirectories(logDir);
      if (!Files.exists(logDir.resolve("meta.properties"))) {
        Formatter formatter =
            new Formatter()
                .setNodeId(1)
                .setClusterId(Uuid.randomUuid().toString())
                .setDirectories(List.of(logDir.toString()))
                .setMetadataLogDirectory(logDir.toString())
                .setReleaseVersion(MetadataVersion.LATEST_PRODUCTION)
                .setControllerListenerName("CONTROLLER");
        if (!security.scramUsers().isEmpty()) {
          formatter.setScramArguments(security.scramUsers());
        }
        formatter.run();
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot prepare Kafka storage in " + logDir, e);
    } catch (Exception e) {
      throw new IllegalStateException("cannot format Kafka storage in " + logDir, e);
    }
    KafkaRaftServer raft =
        new KafkaRaftServer(KafkaConfig.fromProps(properties(logDir), false), Time.SYSTEM);
    raft.startup();
    server = raft;
  }

  private Properties properties(Path logDir) {
    Properties p = new Properties();
    p.put("process.roles", "broker,controller");
    p.put("node.id", "1");
    p.put("controller.quorum.voters", "1@127.0.0.1:" + controllerPort);
    String listener = security.protocol();
    p.put(
        "listeners",
        listener + "://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controllerPort);
    p.put("advertised.listeners", listener + "://127.0.0.1:" + port);
    p.put("inter.broker.listener.name", listener);
    p.put("controller.listener.names", "CONTROLLER");
    p.put("listener.security.protocol.map", listener + ":" + listener + ",CONTROLLER:PLAINTEXT");
    p.put("log.dirs", logDir.toString());
    // One node: every internal topic must have replication 1, or consumers and transactions
    // silently stall.
    p.put("default.replication.factor", "1");
    p.put("min.insync.replicas", "1");
    p.put("offsets.topic.replication.factor", "1");
    p.put("offsets.topic.num.partitions", "4");
    p.put("transaction.state.log.replication.factor", "1");
    p.put("transaction.state.log.min.isr", "1");
    p.put("transaction.state.log.num.partitions", "4");
    p.put("share.coordinator.state.topic.replication.factor", "1");
    p.put("share.coordinator.state.topic.min.isr", "1");
    p.put("group.initial.rebalance.delay.ms", "0");
    p.put("num.partitions", "3");
    p.put("auto.create.topics.enable", "true");
    p.putAll(security.brokerProperties());
    return p;
  }
}
