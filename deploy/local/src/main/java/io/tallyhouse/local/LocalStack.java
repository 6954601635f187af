package io.tallyhouse.local;

import io.tallyhouse.common.auth.CredentialKind;
import io.tallyhouse.common.auth.CredentialStore;
import io.tallyhouse.common.auth.Secrets;
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
import io.tallyhouse.tools.ExitCodes;
import io.tallyhouse.tools.TallyhouseCli;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code make run}: the real Kafka broker, schema registry and ClickHouse server on fixed local
 * ports, then gateway-ingest, usage-stream and activity-query in this JVM, in the foreground until
 * Ctrl-C.
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
    } catch (Exception e) {
      LOG.error("the local stack could not start", e);
      System.exit(1);
    }
    stopped.await();
  }

  void start(Map<String, String> environment) throws Exception {
    long started = System.nanoTime();
    Path home = Path.of(environment.getOrDefault("TALLYHOUSE_HOME", ".run")).toAbsolutePath();
    wipe(home.resolve("data"));
    Path data = Files.createDirectories(home.resolve("data"));

    // The registry takes the longest to boot (~7 s); start it alongside the broker and ClickHouse.
    CompletableFuture<ApicurioRegistry> registryStart =
        CompletableFuture.supplyAsync(() -> ApicurioRegistry.start(apicurioHome(), 8085));
    ClickHouseServer clickHouse = ClickHouseServer.start(data.resolve("clickhouse"), 8123, 9000);
    running.add(clickHouse::stop);
    LocalKafka kafka = LocalKafka.start(data.resolve("kafka"), 9092, 9093);
    running.add(kafka::stop);
    ApicurioRegistry registry = registryStart.join();
    running.add(registry::stop);

    Path keysFile = home.resolve("keys.jsonl");
    CredentialStore keys = new CredentialStore(keysFile);
    String ingestToken =
        environment.getOrDefault(
            "INGEST_TOKEN", Secrets.generate(CredentialKind.INGEST.secretPrefix()));
    String managementKey =
        environment.getOrDefault(
            "MANAGEMENT_KEY", Secrets.generate(CredentialKind.MANAGEMENT.secretPrefix()));
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

    // As in production: the schema is made by `tallyhouse migrate`, the services only check it.
    int migrated =
        TallyhouseCli.run(new String[] {"migrate"}, env, Clock.systemUTC(), System.out, System.err);
    if (migrated != ExitCodes.OK) {
      throw new IllegalStateException("tallyhouse migrate failed (exit code " + migrated + ")");
    }
    UsageStreamApp stream =
        UsageStreamApp.start(ServiceMain.read(with(env, "HTTP_PORT", "8082"), StreamConfig::read));
    running.add(stream::close);
    IngestServer ingest =
        IngestServer.start(
            ServiceMain.read(with(env, "HTTP_PORT", "8080"), IngestConfig::read),
            Clock.systemUTC());
    running.add(ingest::close);
    ActivityServer query =
        ActivityServer.start(
            ServiceMain.read(with(env, "HTTP_PORT", "8081"), QueryConfig::read), Clock.systemUTC());
    running.add(query::close);

    String ingestUrl = "http://127.0.0.1:" + ingest.port();
    String queryUrl = "http://127.0.0.1:" + query.port();
    System.out.printf(
        """

        Tallyhouse is running (ready in %.1f s). Ctrl-C stops everything.

          gateway-ingest   %s   POST /v1/events
          activity-query   %s   GET  /api/v1/activity
          usage-stream     http://127.0.0.1:%d   /health/ready, /metrics
          Kafka %s, schema registry %s, ClickHouse %s (database tallyhouse)

          account          %s
          INGEST_TOKEN     %s
          MANAGEMENT_KEY   %s

          curl -sS %s/api/v1/activity -H "Authorization: Bearer %s"

        """,
        (System.nanoTime() - started) / 1e9,
        ingestUrl,
        queryUrl,
        stream.port(),
        kafka.bootstrapServers(),
        registry.url(),
        clickHouse.httpUrl(),
        ACCOUNT,
        ingestToken,
        managementKey,
        queryUrl,
        managementKey);

    if ("1".equals(environment.get("DEMO"))) {
      long demoStart = System.nanoTime();
      int accepted = new DemoTraffic(ingestUrl, ingestToken, ACCOUNT, Clock.systemUTC()).load(200);
      System.out.printf(
          "  DEMO: posted %d events over 30 days plus today in %.1f s; they reach the activity API"
              + " within seconds.%n%n",
          accepted, (System.nanoTime() - demoStart) / 1e9);
    }
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

  private static void wipe(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
