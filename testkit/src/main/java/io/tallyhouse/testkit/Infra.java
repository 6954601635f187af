package io.tallyhouse.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The one set of real servers a test JVM shares: Kafka, the schema registry and ClickHouse, each
 * started on first use and stopped when the JVM exits. {@code TALLYHOUSE_TEST_BACKEND} picks where
 * they come from: {@code local} (child processes and an in-JVM broker), {@code docker}
 * (Testcontainers) or {@code auto} (the default: Docker when an engine answers, else local).
 */
public final class Infra {

  private static Backend backend;
  private static Path workDir;
  private static KafkaEndpoint kafka;
  private static RegistryEndpoint registry;
  private static ClickHouseEndpoint clickhouse;
  private static DockerServers docker;

  private Infra() {}

  public static synchronized Backend backend() {
    if (backend == null) {
      backend = chooseBackend(System.getenv().getOrDefault("TALLYHOUSE_TEST_BACKEND", "auto"));
    }
    return backend;
  }

  public static synchronized KafkaEndpoint kafka() {
    if (kafka == null) {
      kafka =
          backend() == Backend.DOCKER
              ? docker().kafka()
              : LocalKafka.start(workDir().resolve("kafka"), Ports.freePort(), Ports.freePort());
      if (kafka instanceof LocalKafka local) {
        Runtime.getRuntime().addShutdownHook(new Thread(local::stop, "kafka-stop"));
      }
    }
    return kafka;
  }

  public static synchronized RegistryEndpoint registry() {
    if (registry == null) {
      registry =
          backend() == Backend.DOCKER
              ? docker().registry()
              : ApicurioRegistry.start(apicurioHome(), Ports.freePort());
    }
    return registry;
  }

  public static synchronized ClickHouseEndpoint clickhouse() {
    if (clickhouse == null) {
      clickhouse =
          backend() == Backend.DOCKER
              ? docker().clickhouse()
              : ClickHouseServer.start(
                  workDir().resolve("clickhouse"), Ports.freePort(), Ports.freePort());
    }
    return clickhouse;
  }

  /**
   * The shared broker as a local process, for tests that stop and restart it. Only the local
   * backend can do that (a restarted container gets new mapped ports); such tests skip on the
   * Docker backend.
   */
  public static synchronized LocalKafka localKafka() {
    if (kafka() instanceof LocalKafka local) {
      return local;
    }
    throw new UnsupportedOperationException("the Docker backend cannot restart Kafka in place");
  }

  /**
   * The shared ClickHouse server as a local process, for tests that stop and restart it (local
   * backend only).
   */
  public static synchronized ClickHouseServer localClickHouse() {
    if (clickhouse() instanceof ClickHouseServer local) {
      return local;
    }
    throw new UnsupportedOperationException(
        "the Docker backend cannot restart ClickHouse in place");
  }

  /**
   * The environment a service needs to reach the shared servers ({@code KAFKA_BOOTSTRAP_SERVERS},
   * {@code SCHEMA_REGISTRY_URL}, {@code CLICKHOUSE_URL/_USER/_PASSWORD}); a mutable copy for the
   * test to extend.
   */
  public static Map<String, String> serviceEnvironment() {
    ClickHouseEndpoint ch = clickhouse();
    Map<String, String> env = new HashMap<>();
    env.put("KAFKA_BOOTSTRAP_SERVERS", kafka().bootstrapServers());
    env.put("SCHEMA_REGISTRY_URL", registry().url());
    env.put("CLICKHOUSE_URL", ch.httpUrl());
    env.put("CLICKHOUSE_USER", ch.user());
    env.put("CLICKHOUSE_PASSWORD", ch.password());
    return env;
  }

  static Backend chooseBackend(String setting) {
    switch (setting.trim().toLowerCase(Locale.ROOT)) {
      case "local":
        return Backend.LOCAL;
      case "docker":
        if (!DockerServers.dockerAvailable()) {
          throw new IllegalStateException(
              "TALLYHOUSE_TEST_BACKEND=docker but no Docker engine answers");
        }
        return Backend.DOCKER;
      case "auto":
      case "":
        return DockerServers.dockerAvailable() ? Backend.DOCKER : Backend.LOCAL;
      default:
        throw new IllegalArgumentException(
            "TALLYHOUSE_TEST_BACKEND must be local, docker or auto, got: " + setting);
    }
  }

  private static DockerServers docker() {
    if (docker == null) {
      TestLane.requireServersAllowed("Docker servers");
      docker = new DockerServers();
    }
    return docker;
  }

  private static Path workDir() {
    if (workDir == null) {
      try {
        workDir = Files.createTempDirectory("tallyhouse-test-");
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      Path dir = workDir;
      // Registered before any server's own hook is irrelevant: hooks run concurrently, so wait a
      // little for them.
      Runtime.getRuntime()
          .addShutdownHook(
              new Thread(
                  () -> {
                    Processes.sleep(2000);
                    Processes.deleteRecursively(dir);
                  },
                  "testkit-cleanup"));
    }
    return workDir;
  }

  /**
   * The unpacked Apicurio archive: the build passes its place; otherwise look for testkit/target
   * upwards.
   */
  static Path apicurioHome() {
    return BuildOutput.find("tallyhouse.apicurio.home", "testkit/target/apicurio");
  }
}
