package io.tallyhouse.local;

import io.tallyhouse.common.auth.CredentialKind;
import io.tallyhouse.common.auth.CredentialStore;
import io.tallyhouse.common.auth.Secrets;
import io.tallyhouse.common.config.ConfigException;
import io.tallyhouse.common.runtime.ServiceMain;
import io.tallyhouse.ingest.IngestConfig;
import io.tallyhouse.ingest.IngestServer;
import io.tallyhouse.query.ActivityServer;
import io.tallyhouse.query.QueryConfig;
import io.tallyhouse.stream.StreamConfig;
import io.tallyhouse.stream.UsageStreamApp;
import io.tallyhouse.testkit.ApicurioRegistry;
import io.tallyhouse.testkit.ClickHouseServer;
import io.tallyhouse.testkit.LocalKafka;
import io.tallyhouse.testkit.Ports;
import io.tallyhouse.tools.ExitCodes;
import io.tallyhouse.tools.TallyhouseCli;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code make run}: the real Kafka broker, schema registry and ClickHouse server on fixed local
 * ports (configurable, {@link LocalStackSettings}) and on data kept across runs, then
 * gateway-ingest, usage-stream and activity-query in this JVM, in the foreground until Ctrl-C.
 */
public final class LocalStack {

  private static final Logger LOG = LoggerFactory.getLogger(LocalStack.class);
  private static final String ACCOUNT = "demo";

  private final List<AutoCloseable> running = new ArrayList<>();

  public static void main(String[] args) throws Exception {
    LocalStack stack = new LocalStack();
    // Registered before the start: Ctrl-C while the servers boot still stops the ones started.
    CountDownLatch stopped =
        ServiceMain.closeOnShutdown(
            "local-stack",
            () -> {
              System.out.println("\nStopping Tallyhouse ...");
              stack.close();
            });
    try {
      stack.start(System.getenv());
    } catch (ConfigException e) {
      System.err.println(e.getMessage());
      System.exit(ServiceMain.CONFIG_ERROR);
    } catch (Exception e) {
      LOG.error("the local stack could not start", e);
      System.exit(1);
    }
    stopped.await();
  }

  /**
   * Where the local stack's servers and services answer, and the keys it printed; {@code keptData}
   * says whether it started on the data of an earlier run.
   */
  record Endpoints(
      String ingestUrl,
      String queryUrl,
      String streamUrl,
      String kafkaBootstrapServers,
      String registryUrl,
      String clickHouseUrl,
      String ingestToken,
      String managementKey,
      boolean keptData) {}

  /**
   * Starts the servers on the data in {@code TALLYHOUSE_HOME}/data (created when missing, kept
   * otherwise: the registry keeps the schema ids that Kafka's records carry, so the topics, tables
   * and stores of earlier runs stay usable), migrates ClickHouse, then starts the three services.
   */
  Endpoints start(Map<String, String> environment) throws Exception {
    long started = System.nanoTime();
    LocalStackSettings settings = ServiceMain.read(environment, LocalStackSettings::read);
    Path home = settings.home();
    boolean keptData = Files.isDirectory(home.resolve("data"));
    Path data = Files.createDirectories(home.resolve("data"));

    int registryPort = portOrFree(settings.registryPort());
    // The registry takes the longest to boot (~7 s); start it alongside the broker and ClickHouse.
    CompletableFuture<ApicurioRegistry> registryStart =
        CompletableFuture.supplyAsync(
            () -> ApicurioRegistry.start(apicurioHome(), registryPort, data.resolve("registry")));
    ClickHouseServer clickHouse =
        ClickHouseServer.start(
            data.resolve("clickhouse"),
            portOrFree(settings.clickHouseHttpPort()),
            portOrFree(settings.clickHouseTcpPort()));
    running.add(clickHouse::stop);
    LocalKafka kafka =
        LocalKafka.start(
            data.resolve("kafka"),
            portOrFree(settings.kafkaPort()),
            portOrFree(settings.kafkaControllerPort()));
    running.add(kafka::stop);
    ApicurioRegistry registry = registryStart.join();
    running.add(registry::stop);

    Path keysFile = home.resolve("keys.jsonl");
    CredentialStore keys = new CredentialStore(keysFile);
    String ingestToken =
        settings.ingestToken() != null
            ? settings.ingestToken()
            : Secrets.generate(CredentialKind.INGEST.secretPrefix());
    String managementKey =
        settings.managementKey() != null
            ? settings.managementKey()
            : Secrets.generate(CredentialKind.MANAGEMENT.secretPrefix());
    // A key fixed through the environment is stored once, however often `make run` starts.
    if (keys.authenticate(ingestToken).isEmpty()) {
      keys.add(ingestToken, CredentialKind.INGEST, null, List.of(), "make run");
    }
    if (keys.authenticate(managementKey).isEmpty()) {
      keys.add(managementKey, CredentialKind.MANAGEMENT, ACCOUNT, List.of(), "make run");
    }

    Map<String, String> env = new HashMap<>();
    env.put("KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrapServers());
    env.put("SCHEMA_REGISTRY_URL", registry.url());
    env.put("CLICKHOUSE_URL", clickHouse.httpUrl());
    env.put("CLICKHOUSE_DATABASE", "tallyhouse");
    env.put("KEYS_FILE", keysFile.toString());
    env.put("STATE_DIR", data.resolve("usage-stream").toString());

    // As in production: the schema is made by `tallyhouse migrate`, the services only check it. On
    // kept data it applies only what a newer build added.
    int migrated =
        TallyhouseCli.run(new String[] {"migrate"}, env, Clock.systemUTC(), System.out, System.err);
    if (migrated != ExitCodes.OK) {
      throw new IllegalStateException("tallyhouse migrate failed (exit code " + migrated + ")");
    }
    UsageStreamApp stream =
        UsageStreamApp.start(
            ServiceMain.read(
                with(env, "HTTP_PORT", String.valueOf(settings.streamPort())), StreamConfig::read));
    running.add(stream::close);
    IngestServer ingest =
        IngestServer.start(
            ServiceMain.read(
                with(env, "HTTP_PORT", String.valueOf(settings.ingestPort())), IngestConfig::read),
            Clock.systemUTC());
    running.add(ingest::close);
    ActivityServer query =
        ActivityServer.start(
            ServiceMain.read(
                with(env, "HTTP_PORT", String.valueOf(settings.queryPort())), QueryConfig::read),
            Clock.systemUTC());
    running.add(query::close);

    Endpoints endpoints =
        new Endpoints(
            "http://127.0.0.1:" + ingest.port(),
            "http://127.0.0.1:" + query.port(),
            "http://127.0.0.1:" + stream.port(),
            kafka.bootstrapServers(),
            registry.url(),
            clickHouse.httpUrl(),
            ingestToken,
            managementKey,
            keptData);
    System.out.printf(
        """

        Tallyhouse is running (ready in %.1f s). Ctrl-C stops everything.

          gateway-ingest   %s   POST /v1/events
          activity-query   %s   GET  /api/v1/activity
          usage-stream     %s   /health/ready, /metrics
          Kafka %s, schema registry %s, ClickHouse %s (database tallyhouse)
          data             %s (%s)

          account          %s
          INGEST_TOKEN     %s
          MANAGEMENT_KEY   %s

          curl -sS %s/api/v1/activity -H "Authorization: Bearer %s"

        """,
        (System.nanoTime() - started) / 1e9,
        endpoints.ingestUrl(),
        endpoints.queryUrl(),
        endpoints.streamUrl(),
        endpoints.kafkaBootstrapServers(),
        endpoints.registryUrl(),
        endpoints.clickHouseUrl(),
        data,
        keptData
            ? "kept from the last run; `make reset` empties it"
            : "new; kept across runs until `make reset` or `make clean`",
        ACCOUNT,
        ingestToken,
        managementKey,
        endpoints.queryUrl(),
        managementKey);

    if (settings.demo()) {
      long demoStart = System.nanoTime();
      int accepted =
          new DemoTraffic(endpoints.ingestUrl(), ingestToken, ACCOUNT, Clock.systemUTC()).load(200);
      System.out.printf(
          "  DEMO: posted %d events over 30 days plus today in %.1f s (events posted by an earlier"
              + " run are counted once); they reach the activity API within seconds.%n%n",
          accepted, (System.nanoTime() - demoStart) / 1e9);
    }
    return endpoints;
  }

  /** Stops the services first, then the servers they use. */
  void close() {
    for (int i = running.size() - 1; i >= 0; i--) {
      try {
        running.get(i).close();
      } catch (Exception e) {
        LOG.warn("error while stopping a component", e);
      }
    }
    running.clear();
  }

  private static Map<String, String> with(Map<String, String> env, String key, String value) {
    Map<String, String> copy = new HashMap<>(env);
    copy.put(key, value);
    return copy;
  }

  private static Path apicurioHome() {
    String configured = System.getProperty("tallyhouse.apicurio.home");
    if (configured != null) {
      return Path.of(configured);
    }
    return Path.of("testkit", "target", "apicurio").toAbsolutePath();
  }

  /** A fixed port as configured; 0 (free) resolved now, as the servers need a number. */
  private static int portOrFree(int configured) {
    return configured == 0 ? Ports.freePort() : configured;
  }
}
