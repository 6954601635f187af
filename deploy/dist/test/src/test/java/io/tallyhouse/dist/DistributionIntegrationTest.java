package io.tallyhouse.dist;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tallyhouse.common.config.ConfigurationReference;
import io.tallyhouse.testkit.Await;
import io.tallyhouse.testkit.Infra;
import io.tallyhouse.testkit.Ports;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The three tarballs of this build, unpacked as an operator would, run for real: the tools migrate
 * the testkit's ClickHouse and create keys, the three services start from their launchers against
 * the testkit's Kafka, registry and ClickHouse, an event posted to gateway-ingest comes back from
 * the activity API, and SIGTERM stops every service with exit code 0.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DistributionIntegrationTest {

  private static final List<String> SERVICES =
      List.of("gateway-ingest", "usage-stream", "activity-query");
  private static final String VERSION = System.getProperty("tallyhouse.version");
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * Small JVMs: three services share two cores with the servers; seen in the JVM's command line.
   */
  private static final String JAVA_OPTS = "-Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1";

  @TempDir static Path work;
  private final Map<String, Path> homes = new HashMap<>();
  private final List<Process> running = new ArrayList<>();

  @BeforeAll
  void unpack() throws Exception {
    Path root = Path.of(System.getProperty("tallyhouse.dist.root"));
    for (String service : SERVICES) {
      Path tarball =
          root.resolve(service)
              .resolve("target")
              .resolve("tallyhouse-" + service + "-" + VERSION + ".tar.gz");
      assertTrue(Files.isRegularFile(tarball), "no tarball " + tarball + ": run mvn package");
      Path into = Files.createDirectories(work.resolve(service));
      Result untar =
          run(List.of("tar", "-xzf", tarball.toString(), "-C", into.toString()), Map.of());
      assertEquals(0, untar.code(), untar.toString());
      try (Stream<Path> top = Files.list(into)) {
        List<Path> dirs = top.toList();
        assertEquals(
            List.of(into.resolve("tallyhouse-" + service + "-" + VERSION)),
            dirs,
            "one top directory");
        homes.put(service, dirs.get(0));
      }
    }
  }

  @AfterAll
  void killLeftovers() {
    running.forEach(Process::destroyForcibly);
  }

  @Test
  void everyTarballHasItsLaunchersJarsConfigurationAndLicences() throws IOException {
    for (String service : SERVICES) {
      Path home = homes.get(service);
      for (String launcher : List.of(service, "tallyhouse")) {
        assertTrue(
            Files.isExecutable(home.resolve("bin").resolve(launcher)),
            service + " bin/" + launcher);
      }
      try (Stream<Path> jars = Files.list(home.resolve("lib"))) {
        List<String> names = jars.map(p -> p.getFileName().toString()).toList();
        assertTrue(names.contains(service + "-" + VERSION + ".jar"), names.toString());
        assertTrue(names.contains("tallyhouse-tools-" + VERSION + ".jar"), names.toString());
        assertTrue(
            names.stream().noneMatch(n -> n.startsWith("tallyhouse-testkit")), names.toString());
      }
      assertEquals(
          ConfigurationReference.envExample(DistributionFiles.component(Service.named(service))),
          Files.readString(home.resolve("config").resolve(service + ".env.example")),
          "the example lists what the configuration reference lists");
      assertTrue(Files.readString(home.resolve("LICENSE")).contains("Apache License"));
      assertTrue(
          Files.readString(home.resolve("THIRD-PARTY.txt"))
              .contains("org.apache.kafka:kafka-clients:"),
          "the licence list names the Kafka client");
    }
  }

  @Test
  void versionIsThePomsOnEveryLauncher() throws Exception {
    for (String service : SERVICES) {
      for (String program : List.of(service, "tallyhouse")) {
        Result version = launch(service, program, Map.of(), "--version");
        assertEquals(0, version.code(), version.toString());
        assertTrue(
            version
                .out()
                .matches(program + " " + VERSION.replace(".", "\\.") + "( \\(commit \\w+\\))?\\n"),
            version.toString());
      }
    }
  }

  @Test
  void aLauncherReachedThroughSymbolicLinksFindsItsDistribution() throws Exception {
    Path links = Files.createDirectories(work.resolve("links"));
    Path absolute = links.resolve("tallyhouse-absolute");
    Files.createSymbolicLink(absolute, homes.get("activity-query").resolve("bin/tallyhouse"));
    // A relative link to the first one: a chain, as /usr/local/bin links often are.
    Path relative = links.resolve("th");
    Files.createSymbolicLink(relative, Path.of("tallyhouse-absolute"));
    Result version = run(List.of(relative.toString(), "--version"), Map.of());
    assertEquals(0, version.code(), version.toString());
    assertTrue(version.out().startsWith("tallyhouse " + VERSION), version.toString());
  }

  @Test
  void theLauncherRunsTheJavaOfJavaHome() throws Exception {
    Path noJava = Files.createDirectories(work.resolve("no-java"));
    Result refused =
        launch(
            "gateway-ingest",
            "gateway-ingest",
            Map.of("JAVA_HOME", noJava.toString()),
            "--version");
    assertEquals(127, refused.code(), "the shell found no " + noJava + "/bin/java: " + refused);
    Result ran =
        launch(
            "gateway-ingest",
            "gateway-ingest",
            Map.of("JAVA_HOME", System.getProperty("java.home")),
            "--version");
    assertEquals(0, ran.code(), ran.toString());
  }

  @Test
  void theLauncherPassesJavaOptsToTheJvm() throws Exception {
    Result shown =
        launch(
            "gateway-ingest",
            "gateway-ingest",
            Map.of("JAVA_OPTS", "-Dtallyhouse.seen=from-java-opts -XshowSettings:properties"),
            "--version");
    assertEquals(0, shown.code(), shown.toString());
    assertTrue(shown.err().contains("tallyhouse.seen = from-java-opts"), shown.toString());
  }

  @Test
  void theServicesRunFromTheirLaunchersAndStopCleanly() throws Exception {
    String name = "dist" + Ports.freePort();
    Path keys = work.resolve("keys.jsonl");
    Map<String, String> env = Infra.serviceEnvironment();
    env.put("CLICKHOUSE_DATABASE", name);
    env.put("KEYS_FILE", keys.toString());
    env.put("EVENTS_TOPIC", name + "-events");
    env.put("APPLICATION_ID", name + "-stream");
    env.put("STATE_DIR", work.resolve("stream-state").toString());
    env.put("JAVA_OPTS", JAVA_OPTS);

    Result migrate = launch("usage-stream", "tallyhouse", env, "migrate");
    assertEquals(0, migrate.code(), migrate.toString());
    String ingestToken =
        createKey(env, "--kind", "ingest", "--all-accounts", "--name", "distribution test");
    String managementKey =
        createKey(env, "--kind", "management", "--account", "acme", "--name", "distribution test");

    Map<String, Integer> ports = new HashMap<>();
    Map<String, Process> services = new HashMap<>();
    for (String service : SERVICES) {
      Map<String, String> own = new HashMap<>(env);
      int port = Ports.freePort();
      own.put("HTTP_PORT", String.valueOf(port));
      ports.put(service, port);
      services.put(service, start(service, own));
    }
    for (String service : SERVICES) {
      awaitReady(service, services.get(service), ports.get(service));
      // exec: the launcher's process is the JVM itself, with JAVA_OPTS on its command line.
      ProcessHandle.Info jvm = services.get(service).info();
      assertTrue(jvm.command().orElse("").endsWith("/java"), service + ": " + jvm);
      assertTrue(
          List.of(jvm.arguments().orElse(new String[0])).contains("-Xmx256m"),
          service + ": " + jvm);
    }

    LocalDate yesterday = LocalDate.now(ZoneOffset.UTC).minusDays(1);
    String event =
        "{\"event_id\":\"dist-1\",\"account_id\":\"acme\",\"api_key_hash\":\""
            + "ab".repeat(32)
            + "\",\"model\":\"openai/gpt-4o\",\"provider_name\":\"OpenAI\",\"created_at\":\""
            + yesterday
            + "T12:00:00Z\",\"prompt_tokens\":10,\"completion_tokens\":5,\"cost\":\"0.000123456789\"}";
    HttpResponse<String> posted =
        HTTP.send(
            HttpRequest.newBuilder(url(ports.get("gateway-ingest"), "/v1/events"))
                .timeout(Duration.ofSeconds(60))
                .header("Authorization", "Bearer " + ingestToken)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(event))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(202, posted.statusCode(), posted.body());

    JsonNode[] item = new JsonNode[1];
    Await.until(
        "the event in GET /api/v1/activity",
        () -> {
          JsonNode data = activity(ports.get("activity-query"), managementKey, yesterday);
          item[0] = data != null && data.size() == 1 ? data.get(0) : null;
          return item[0] != null;
        },
        Await.STALL);
    assertEquals(yesterday.toString(), item[0].get("date").asText());
    assertEquals(1, item[0].get("requests").asLong());
    assertEquals("0.000123456789", item[0].get("usage").decimalValue().toPlainString());

    for (String service : SERVICES) {
      Process process = services.get(service);
      process.destroy(); // SIGTERM
      assertTrue(process.waitFor(2, TimeUnit.MINUTES), service + " did not stop on SIGTERM");
      assertEquals(
          0, process.exitValue(), service + " exit code after SIGTERM; log:\n" + log(service));
    }
  }

  private String createKey(Map<String, String> env, String... options) throws Exception {
    List<String> args = new ArrayList<>(List.of("keys", "create", "--file", env.get("KEYS_FILE")));
    args.addAll(List.of(options));
    Result created = launch("gateway-ingest", "tallyhouse", env, args.toArray(String[]::new));
    assertEquals(0, created.code(), created.toString());
    return created.out().strip();
  }

  private Process start(String service, Map<String, String> env) throws IOException {
    ProcessBuilder builder =
        new ProcessBuilder(homes.get(service).resolve("bin").resolve(service).toString())
            .redirectErrorStream(true)
            .redirectOutput(work.resolve(service + ".log").toFile());
    builder.environment().putAll(env);
    Process process = builder.start();
    running.add(process);
    return process;
  }

  private void awaitReady(String service, Process process, int port) throws InterruptedException {
    Await.until(
        service + " ready",
        () -> {
          if (!process.isAlive()) {
            throw new AssertionError(service + " exited: " + log(service));
          }
          return status(url(port, "/health/ready")) == 200;
        },
        Await.STALL);
  }

  private static JsonNode activity(int port, String key, LocalDate date) {
    try {
      HttpResponse<String> answer =
          HTTP.send(
              HttpRequest.newBuilder(url(port, "/api/v1/activity?date=" + date))
                  .timeout(Duration.ofSeconds(30))
                  .header("Authorization", "Bearer " + key)
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertEquals(200, answer.statusCode(), answer.body());
      return JSON.readTree(answer.body()).get("data");
    } catch (IOException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }

  private static int status(URI uri) {
    try {
      return HTTP.send(
              HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).build(),
              HttpResponse.BodyHandlers.discarding())
          .statusCode();
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  private static URI url(int port, String path) {
    return URI.create("http://127.0.0.1:" + port + path);
  }

  private String log(String service) {
    try {
      return Files.readString(work.resolve(service + ".log"));
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  /** Runs {@code program} of {@code service}'s tarball to its end. */
  private Result launch(String service, String program, Map<String, String> env, String... args)
      throws Exception {
    List<String> command = new ArrayList<>();
    command.add(homes.get(service).resolve("bin").resolve(program).toString());
    command.addAll(List.of(args));
    return run(command, env);
  }

  private Result run(List<String> command, Map<String, String> env) throws Exception {
    Path out = Files.createTempFile(work, "out", ".txt");
    Path err = Files.createTempFile(work, "err", ".txt");
    ProcessBuilder builder =
        new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile());
    builder.environment().putAll(env);
    Process process = builder.start();
    assertTrue(process.waitFor(5, TimeUnit.MINUTES), command + " did not end");
    return new Result(
        command,
        process.exitValue(),
        Files.readString(out, StandardCharsets.UTF_8),
        Files.readString(err, StandardCharsets.UTF_8));
  }

  private record Result(List<String> command, int code, String out, String err) {
    @Override
    public String toString() {
      return command + " exited " + code + "\nstdout: " + out + "\nstderr: " + err;
    }
  }
}
