package io.tallyhouse.query;

import io.tallyhouse.common.auth.CredentialKind;
import io.tallyhouse.common.auth.CredentialStore;
import io.tallyhouse.common.auth.Secrets;
import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.ClickHouseConfig;
import io.tallyhouse.common.clickhouse.Migrations;
import io.tallyhouse.common.clickhouse.SqlLiteral;
import io.tallyhouse.common.runtime.ServiceMain;
import io.tallyhouse.schemas.contract.Workspaces;
import io.tallyhouse.testkit.ClickHouseEndpoint;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assertions;

/**
 * The environment of an activity-query under test, and its keys: shared by the module's integration
 * tests.
 */
public final class QueryTestEnv {

  private static final HttpClient HTTP =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  private QueryTestEnv() {}

  /**
   * A service on any free port, reading {@code keysFile}, with its own database on the server at
   * {@code url}, brought to this build's schema first (as {@code tallyhouse migrate} does, through
   * {@code endpoint}: {@code url} may be a proxy that fails on purpose).
   */
  public static Map<String, String> of(
      String url, ClickHouseEndpoint endpoint, String database, Path keysFile) {
    Migrations.apply(
        new ClickHouseConfig(endpoint.httpUrl(), endpoint.user(), endpoint.password(), database));
    return unmigrated(url, endpoint, database, keysFile);
  }

  /** As {@link #of}, leaving the database as it is (perhaps missing). */
  public static Map<String, String> unmigrated(
      String url, ClickHouseEndpoint endpoint, String database, Path keysFile) {
    Map<String, String> env = new HashMap<>();
    env.put("CLICKHOUSE_URL", url);
    env.put("CLICKHOUSE_USER", endpoint.user());
    env.put("CLICKHOUSE_PASSWORD", endpoint.password());
    env.put("CLICKHOUSE_DATABASE", database);
    env.put("KEYS_FILE", keysFile.toString());
    env.put("HTTP_PORT", "0");
    return env;
  }

  public static Map<String, String> of(
      ClickHouseEndpoint endpoint, String database, Path keysFile) {
    return of(endpoint.httpUrl(), endpoint, database, keysFile);
  }

  /** The configuration a service reads from {@code env}, validated as at start. */
  public static QueryConfig config(Map<String, String> env) {
    return ServiceMain.read(env, QueryConfig::read);
  }

  /** A database name no other test class uses: {@code prefix_} and 16 random hex digits. */
  public static String newDatabase(String prefix) {
    byte[] random = new byte[8];
    ThreadLocalRandom.current().nextBytes(random);
    return prefix + "_" + HexFormat.of().formatHex(random);
  }

  /**
   * Drops a test class's database and closes its client; null (the setup failed early) is nothing
   * to do.
   */
  public static void dropDatabase(ClickHouse clickHouse, String database) {
    if (clickHouse != null) {
      clickHouse.execute("DROP DATABASE IF EXISTS " + SqlLiteral.identifier(database));
      clickHouse.close();
    }
  }

  /** An empty key file in a new temporary folder named after {@code test}. */
  public static CredentialStore newKeyStore(String test) throws IOException {
    return new CredentialStore(Files.createTempDirectory(test).resolve("keys.jsonl"));
  }

  /**
   * Waits until {@code server}'s cache has completed a poll that started after this call, so it
   * serves from memory and knows every write made before. Fails after a minute (a guard against a
   * hang, not a timing assertion).
   */
  public static void awaitFreshPoll(ActivityServer server) throws InterruptedException {
    long seen = server.cache().polls();
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
    // The poll running now may have started before the call: the one after it surely did not.
    while (server.cache().polls() < seen + 2) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("the cache did not poll the change markers within a minute");
      }
      Thread.sleep(5);
    }
  }

  /**
   * One series of {@code server}'s {@code /metrics}, named with its labels as printed; 0 when
   * absent.
   */
  public static double metric(ActivityServer server, String series)
      throws IOException, InterruptedException {
    String metrics =
        HTTP.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/metrics"))
                    .build(),
                HttpResponse.BodyHandlers.ofString())
            .body();
    for (String line : metrics.split("\n")) {
      if (line.startsWith(series + " ")) {
        return Double.parseDouble(line.substring(series.length()).trim());
      }
    }
    return 0;
  }

  /**
   * How many activity answers {@code server}'s cache gave with {@code result} (hit, miss, bypass).
   */
  public static double cacheAnswers(ActivityServer server, String result)
      throws IOException, InterruptedException {
    return metric(server, "activity_cache_answers_seconds_count{result=\"" + result + "\"}");
  }

  /** A client of {@code database} on the server at {@code endpoint}. */
  public static ClickHouse clickHouse(ClickHouseEndpoint endpoint, String database) {
    return new ClickHouse(
        new ClickHouseConfig(endpoint.httpUrl(), endpoint.user(), endpoint.password(), database));
  }

  /**
   * {@code lines} (JSONEachRow) in one insert, so they land in one part (FINAL must merge across
   * the parts of separate calls).
   */
  public static void insert(ClickHouse clickHouse, String table, List<String> lines) {
    clickHouse.insertJsonEachRow(
        table, (String.join("\n", lines) + "\n").getBytes(StandardCharsets.UTF_8));
  }

  /**
   * A row of a per-account lookup table (api_key_hashes, workspaces): the account and one value of
   * {@code column}.
   */
  public static String accountRow(String account, String column, String value) {
    return "{\"account_id\":\"" + account + "\",\"" + column + "\":\"" + value + "\"}";
  }

  /** Closes every server that started; null (the setup failed early) is nothing to do. */
  public static void close(ActivityServer... servers) {
    for (ActivityServer server : servers) {
      if (server != null) {
        server.close();
      }
    }
  }

  /**
   * GET {@code path?query} ({@code query} may be empty) from {@code target}, with {@code
   * authorization} as the Authorization header, or none when null.
   */
  public static HttpResponse<String> get(
      ActivityServer target, String authorization, String path, String query)
      throws IOException, InterruptedException {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(
            URI.create(
                "http://127.0.0.1:" + target.port() + path + (query.isEmpty() ? "" : "?" + query)));
    if (authorization != null) {
      request.header("Authorization", authorization);
    }
    return HTTP.send(
        request.GET().build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
  }

  /** {@code value} percent-encoded for a query string. */
  public static String enc(String value) {
    return URLEncoder.encode(value, StandardCharsets.UTF_8);
  }

  /**
   * The error object of {@code response}, after checking its status, the code in it and that it has
   * a message.
   */
  public static com.fasterxml.jackson.databind.JsonNode error(
      HttpResponse<String> response, int status) throws IOException {
    Assertions.assertEquals(status, response.statusCode(), response.body());
    com.fasterxml.jackson.databind.JsonNode error = EXACT.readTree(response.body()).get("error");
    Assertions.assertEquals(status, error.get("code").asInt());
    Assertions.assertTrue(error.get("message").isTextual(), response.body());
    return error;
  }

  /** A new secret of {@code kind} stored in {@code keys}; returns the secret. */
  public static String newKey(CredentialStore keys, CredentialKind kind, String account) {
    String secret = Secrets.generate(kind.secretPrefix());
    keys.add(secret, kind, account, List.of(), "test");
    return secret;
  }

  /**
   * The fixtures' now: just after midnight UTC on 2026-11-22, the window 2026-10-23 .. 2026-11-21.
   */
  public static final java.time.Instant AFTER_MIDNIGHT =
      java.time.Instant.parse("2026-11-22T00:00:05Z");

  /** The last completed day at {@link #AFTER_MIDNIGHT}, and the day before it. */
  public static final String D1 = "2026-11-21";

  public static final String D2 = "2026-11-20";

  /** Api key hashes the fixtures use: two of the main tenant's and one of another tenant's. */
  public static final String A1 = "a1".repeat(32);

  public static final String A2 = "b2".repeat(32);
  public static final String BETA_KEY = "c3".repeat(32);

  /** An endpoint as the rollup rows of the tests name it. */
  public record Endpoint(String model, String permaslug, String provider, String id) {}

  public static final Endpoint OPENAI =
      new Endpoint(
          "openai/gpt-4o", "openai/gpt-4o-2024-08-06", "OpenAI", "OpenAI/openai/gpt-4o-2024-08-06");
  public static final Endpoint CLAUDE =
      new Endpoint(
          "anthropic/claude-sonnet-4",
          "anthropic/claude-sonnet-4",
          "Anthropic",
          "Anthropic/anthropic/claude-sonnet-4");

  /** An endpoint whose names sort first. */
  public static final Endpoint EP_A = new Endpoint("x/a", "x/a", "X", "X/a");

  /** Writes a BigDecimal in plain digits: ClickHouse refuses a decimal in exponent form. */
  public static final com.fasterxml.jackson.databind.ObjectMapper PLAIN =
      com.fasterxml.jackson.databind.json.JsonMapper.builder()
          .enable(com.fasterxml.jackson.core.StreamWriteFeature.WRITE_BIGDECIMAL_AS_PLAIN)
          .build();

  /**
   * Reads numbers exactly as written: 2.50 stays 2.50 (so a trailing zero fails an equality) and no
   * decimal passes through a double.
   */
  public static final com.fasterxml.jackson.databind.ObjectMapper EXACT =
      com.fasterxml.jackson.databind.json.JsonMapper.builder()
          .enable(com.fasterxml.jackson.databind.DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
          .disable(
              com.fasterxml.jackson.databind.cfg.JsonNodeFeature.STRIP_TRAILING_BIGDECIMAL_ZEROES)
          .build();

  /**
   * One usage_daily row as JSONEachRow, money as exact plain numbers; tokens derive from requests
   * (prompt 100x, completion 10x, reasoning 1x, cached 3x).
   */
  public static String rollupRow(
      String account,
      String date,
      String key,
      String user,
      Endpoint ep,
      long requests,
      String usage,
      String byok,
      long byokRequests,
      long version) {
    return rollupRow(
        account,
        Workspaces.STORED_DEFAULT,
        date,
        key,
        user,
        ep,
        requests,
        usage,
        byok,
        byokRequests,
        version);
  }

  /**
   * As {@link #rollupRow(String, String, String, String, Endpoint, long, String, String, long,
   * long)}, in the workspace that usage_daily stores as {@code storedWorkspace} ('' for the default
   * one, as the stream writes it).
   */
  public static String rollupRow(
      String account,
      String storedWorkspace,
      String date,
      String key,
      String user,
      Endpoint ep,
      long requests,
      String usage,
      String byok,
      long byokRequests,
      long version) {
    com.fasterxml.jackson.databind.node.ObjectNode node = PLAIN.createObjectNode();
    node.put("account_id", account);
    node.put("workspace_id", storedWorkspace);
    node.put("date", date);
    node.put("api_key_hash", key);
    node.put("user_id", user);
    node.put("endpoint_id", ep.id());
    node.put("model", ep.model());
    node.put("model_permaslug", ep.permaslug());
    node.put("provider_name", ep.provider());
    node.put("requests", requests);
    node.put("prompt_tokens", 100 * requests);
    node.put("completion_tokens", 10 * requests);
    node.put("reasoning_tokens", requests);
    node.put("cached_tokens", 3 * requests);
    node.put("usage", new java.math.BigDecimal(usage));
    node.put("byok_usage_inference", new java.math.BigDecimal(byok));
    node.put("byok_requests", byokRequests);
    node.put("version", version);
    node.put("updated_at", "2026-11-22 00:00:00");
    try {
      // Not node.toString(): that may print a decimal in exponent form, which ClickHouse refuses.
      return PLAIN.writeValueAsString(node);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }
}
