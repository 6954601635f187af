package io.tallyhouse.testkit;

import java.nio.file.Files;
import java.nio.file.Path;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.clickhouse.ClickHouseContainer;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.Network;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.kafka.KafkaContainer;

/**
 * The same servers from Testcontainers, for machines with a Docker engine. Ryuk removes them at
 * exit.
 */
final class DockerServers {

  private final Network network = Network.newNetwork();
  private KafkaContainer kafka;
  private GenericContainer<?> registry;
  private ClickHouseContainer clickhouse;

  /** Cheap check first: without a socket or DOCKER_HOST, asking Testcontainers only costs time. */
  static boolean dockerAvailable() {
    boolean socket =
        Files.exists(Path.of("/var/run/docker.sock")) || System.getenv("DOCKER_HOST") != null;
    return socket && DockerClientFactory.instance().isDockerAvailable();
  }

  synchronized KafkaEndpoint kafka() {
    if (kafka == null) {
      kafka =
          new KafkaContainer("apache/kafka:4.1.2")
              .withNetwork(network)
              .withNetworkAliases("kafka")
              .withListener("kafka:19092");
      kafka.start();
    }
    KafkaContainer started = kafka;
    return started::getBootstrapServers;
  }

  synchronized RegistryEndpoint registry() {
    if (registry == null) {
      kafka();
      registry =
          new GenericContainer<>("confluentinc/cp-schema-registry:7.9.1")
              .withNetwork(network)
              .withExposedPorts(8081)
              .withEnv("SCHEMA_REGISTRY_HOST_NAME", "schema-registry")
              .withEnv("SCHEMA_REGISTRY_LISTENERS", "http://0.0.0.0:8081")
              .withEnv("SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS", "PLAINTEXT://kafka:19092")
              .waitingFor(Wait.forHttp("/subjects").forStatusCode(200));
      registry.start();
    }
    String url = "http://" + registry.getHost() + ":" + registry.getMappedPort(8081);
    return () -> url;
  }

  synchronized ClickHouseEndpoint clickhouse() {
    if (clickhouse == null) {
      clickhouse = new ClickHouseContainer("clickhouse/clickhouse-server:25.8");
      clickhouse.start();
    }
    ClickHouseContainer started = clickhouse;
    return new ClickHouseEndpoint() {
      @Override
      public String httpUrl() {
        return started.getHttpUrl();
      }

      @Override
      public String user() {
        return started.getUsername();
      }

      @Override
      public String password() {
        return started.getPassword();
      }
    };
  }
}
