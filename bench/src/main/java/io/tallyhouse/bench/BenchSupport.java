package io.tallyhouse.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tallyhouse.common.auth.CredentialKind;
import io.tallyhouse.common.auth.CredentialStore;
import io.tallyhouse.common.auth.Secrets;
import io.tallyhouse.testkit.LocalKafka;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.kafka.clients.admin.Admin;

/** What the benchmarks share: realistic events, topics, waiting for a child service, output. */
final class BenchSupport {

  static final ObjectMapper JSON = new ObjectMapper();

  private BenchSupport() {}

  /**
   * A realistic event: 50 accounts with four keys each, a skewed user population, three endpoints,
   * exact prices.
   */
  static ObjectNode event(Random random, String id) {
    return event(random, id, Instant.now().minusSeconds(random.nextInt(3600)));
  }

  static ObjectNode event(Random random, String id, Instant createdAt) {
    String[][] endpoints = {
      {"openai/gpt-4o", "openai/gpt-4o-2024-08-06", "OpenAI"},
      {"anthropic/claude-sonnet-4", "anthropic/claude-4-sonnet-20250522", "Anthropic"},
      {"google/gemini-2.5-flash", "google/gemini-2.5-flash", "Google"}
    };
    String[] endpoint = endpoints[random.nextInt(endpoints.length)];
    long prompt = 50 + random.nextInt(4000);
    long completion = 10 + random.nextInt(1200);
    ObjectNode e = JSON.createObjectNode();
    e.put("event_id", "gen-" + id + "-" + Long.toHexString(random.nextLong()));
    // Accounts own their keys (four each), as in a real gateway.
    int account = random.nextInt(50);
    e.put("account_id", "acct-" + account);
    e.put("api_key_hash", Secrets.sha256Hex("key-" + account + "-" + random.nextInt(4)));
    e.put("user", "user-" + (int) Math.floor(-Math.log(1 - random.nextDouble()) * 30));
    e.put("model", endpoint[0]);
    e.put("model_permaslug", endpoint[1]);
    e.put("provider_name", endpoint[2]);
    e.put("created_at", createdAt.toString());
    e.put("prompt_tokens", prompt);
    e.put("completion_tokens", completion);
    e.put("cached_tokens", prompt / 4);
    e.put(
        "cost",
        new BigDecimal("0.0000025")
            .multiply(BigDecimal.valueOf(prompt))
            .add(new BigDecimal("0.00001").multiply(BigDecimal.valueOf(completion))));
    e.put("app", "https://chat.example.com");
    return e;
  }

  static void createTopic(LocalKafka kafka, String name, int partitions) throws Exception {
    createTopic(Map.of("bootstrap.servers", kafka.bootstrapServers()), name, partitions);
  }

  /** Creates {@code name} through an admin client with {@code adminProperties}. */
  static void createTopic(Map<String, Object> adminProperties, String name, int partitions)
      throws Exception {
    try (Admin admin = Admin.create(adminProperties)) {
      // As the services create it, so the benchmark measures the production topic configuration.
      io.tallyhouse.common.kafka.PipelineTopics.ensure(admin, List.of(name), partitions, 30_000);
    }
  }

  /** Waits until the child service {@code name} answers {@code /health/ready} with 200. */
  static void awaitReady(String name, int port, Process process, Path log) throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    // A bound, not an expectation: on a shared box a stream on the Kafka cluster took over a
    // minute.
    long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IllegalStateException(name + " exited:\n" + Files.readString(log));
      }
      try {
        if (http.send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health/ready"))
                        .build(),
                    HttpResponse.BodyHandlers.ofString())
                .statusCode()
            == 200) {
          return;
        }
      } catch (IOException e) {
        // not yet listening
      }
      Thread.sleep(100);
    }
    throw new IllegalStateException(name + " was not ready in time:\n" + Files.readString(log));
  }

  static Path apicurioHome() {
    String configured = System.getProperty("tallyhouse.apicurio.home");
    return configured != null
        ? Path.of(configured)
        : Path.of("testkit", "target", "apicurio").toAbsolutePath();
  }

  static BigDecimal round1(double millis) {
    return BigDecimal.valueOf(millis).setScale(1, RoundingMode.HALF_UP);
  }

  static void log(String line) {
    System.out.println(line);
    System.out.flush();
  }

  /** The machine's CPU ticks from /proc/stat: {busy, total}; {0, 0} where there is no /proc. */
  static long[] machineCpuTicks() {
    try {
      String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
      long total = 0;
      for (int i = 1; i < f.length; i++) {
        total += Long.parseLong(f[i]);
      }
      // idle and iowait are the only fields that are not work.
      long idle = Long.parseLong(f[4]) + Long.parseLong(f[5]);
      return new long[] {total - idle, total};
    } catch (IOException | RuntimeException e) {
      return new long[] {0, 0};
    }
  }

  /** Total CPU time so far of each process, in nanoseconds. */
  static long[] cpuNanos(List<ProcessHandle> processes) {
    return processes.stream()
        .mapToLong(
            p ->
                p.info()
                    .totalCpuDuration()
                    .orElseThrow(
                        () -> new IllegalStateException("no CPU time for process " + p.pid()))
                    .toNanos())
        .toArray();
  }

  /** Share of all cores busy between two {@link #machineCpuTicks()} readings, in percent. */
  static double busyPercent(long[] before, long[] after) {
    long total = after[1] - before[1];
    return total == 0 ? 0 : 100.0 * (after[0] - before[0]) / total;
  }

  /**
   * Deletes a benchmark's working directory (servers' data: gigabytes per run) unless {@code
   * -Dbench.keep.dir=true} asks to keep it for a look afterwards. Runs left their directories
   * behind once and filled the disk.
   */
  static void removeWorkingDirectory(Path dir) {
    if (Boolean.getBoolean("bench.keep.dir")) {
      log("kept " + dir);
      return;
    }
    try (java.util.stream.Stream<Path> paths = java.nio.file.Files.walk(dir)) {
      paths.sorted(java.util.Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
    } catch (java.io.IOException e) {
      log("could not remove " + dir + ": " + e.getMessage());
    }
  }

  /** The machine's 1-minute load average: another benchmark on the same box shows here. */
  static String loadAverage() {
    try {
      return Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
    } catch (IOException | RuntimeException e) {
      return "unknown";
    }
  }

  /**
   * Prints {@code result} as the last line of output and exits: called after the servers are down
   * and have said their goodbyes, so nothing follows it.
   */
  static void printResultAndExit(ObjectNode result) {
    System.err.flush();
    System.out.println(result);
    System.out.flush();
    System.exit(0);
  }

  /** A new key file {@code keysFile} with one ingest key, whose token this returns. */
  static String ingestToken(Path keysFile) {
    String token = Secrets.generate(CredentialKind.INGEST.secretPrefix());
    new CredentialStore(keysFile).add(token, CredentialKind.INGEST, null, List.of(), "bench");
    return token;
  }

  /** Any other setting of the service under test, e.g. {@code -Dbench.env.STREAM_THREADS=1}. */
  static void putServiceSettings(Map<String, String> env) {
    System.getProperties().stringPropertyNames().stream()
        .filter(name -> name.startsWith("bench.env."))
        .forEach(name -> env.put(name.substring("bench.env.".length()), System.getProperty(name)));
  }
}
