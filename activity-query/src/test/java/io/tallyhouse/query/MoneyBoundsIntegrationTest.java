package io.tallyhouse.query;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.core.StreamWriteFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tallyhouse.common.auth.CredentialKind;
import io.tallyhouse.common.auth.CredentialStore;
import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.ClickHouseConfig;
import io.tallyhouse.query.http.ActivityRouter;
import io.tallyhouse.testkit.ClickHouseEndpoint;
import io.tallyhouse.testkit.Infra;
import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Money at the contract's bounds on the real ClickHouse, through the activity API (cache and SQL
 * path) and the export (JSON and CSV): the largest legal rollup rows of many shards and groups of
 * one account and day are served exactly, though their totals have more digits than 18.16's
 * toString prints; stored rows whose totals cannot be right (a sum that wraps Decimal(38,12) back
 * into a plausible number, a negative row) are a 500 and an error log naming the account and day,
 * never a number.
 */
class MoneyBoundsIntegrationTest {

  private static final ObjectMapper PLAIN =
      JsonMapper.builder().enable(StreamWriteFeature.WRITE_BIGDECIMAL_AS_PLAIN).build();
  private static final ObjectMapper EXACT =
      JsonMapper.builder().enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS).build();
  private static final HttpClient HTTP =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  private static final Instant AFTER_MIDNIGHT = Instant.parse("2026-11-22T00:00:05Z");
  private static final String D1 = "2026-11-21";
  private static final String D2 = "2026-11-20";
  private static final String D3 = "2026-11-19";
  private static final String WHALE = "whale";
  private static final String MALLORY = "mallory";
  private static final String KEY = "ab".repeat(32);
  private static final int SHARDS = 64;
  private static final int USERS = 40;

  /**
   * Events per rollup row: a trillion, each at the most an event may cost (or one unit below it).
   */
  private static final long REQUESTS = 1_000_000_000_000L;

  private static final BigDecimal TOP = new BigDecimal("1000000000");
  private static final BigDecimal BELOW_TOP = new BigDecimal("999999999.999999999999");

  /** Each user's total: 23 integer digits, beyond what 18.16's toString prints intact. */
  private static final BigDecimal USER_USAGE =
      rowUsage(0).add(rowUsage(1)).multiply(BigDecimal.valueOf(SHARDS / 2));

  private static final BigDecimal DAY_USAGE = USER_USAGE.multiply(BigDecimal.valueOf(USERS));
  private static final BigDecimal DAY_REQUESTS = BigDecimal.valueOf(REQUESTS * SHARDS * USERS);

  private static String database;
  private static ClickHouse clickHouse;
  private static ActivityServer cached;
  private static ActivityServer sqlOnly;
  private static String whaleKey;
  private static String malloryKey;
  private ListAppender<ILoggingEvent> logs;

  @BeforeAll
  static void start() throws Exception {
    ClickHouseEndpoint endpoint = Infra.clickhouse();
    database = QueryTestEnv.newDatabase("money");
    CredentialStore keys = QueryTestEnv.newKeyStore("money-bounds-test");
    whaleKey = QueryTestEnv.newKey(keys, CredentialKind.MANAGEMENT, WHALE);
    malloryKey = QueryTestEnv.newKey(keys, CredentialKind.MANAGEMENT, MALLORY);
    Map<String, String> env = QueryTestEnv.of(endpoint, database, keys.file());
    Clock clock = Clock.fixed(AFTER_MIDNIGHT, ZoneOffset.UTC);
    cached = ActivityServer.start(QueryTestEnv.config(env), clock);
    Map<String, String> noCache = new HashMap<>(env);
    noCache.put("CACHE_MAX_BYTES", "0");
    sqlOnly = ActivityServer.start(QueryTestEnv.config(noCache), clock);
    clickHouse =
        new ClickHouse(
            new ClickHouseConfig(
                endpoint.httpUrl(), endpoint.user(), endpoint.password(), database));

    List<String> rows = new ArrayList<>();
    for (int user = 0; user < USERS; user++) {
      for (int shard = 0; shard < SHARDS; shard++) {
        rows.add(row(WHALE, D1, "u" + user, shard, REQUESTS, rowUsage(shard), rowUsage(shard + 1)));
      }
    }
    insert(rows);
    BigDecimal nearLimit = new BigDecimal("99999999999999999999999999");
    long manyRequests = 100_000_000_000_000_000L;
    insert(
        List.of(
            row(MALLORY, D1, "u", 0, 1, BigDecimal.ONE, BigDecimal.ZERO),
            // Each row alone looks legal; their plain sum wraps the 128 bits to about 6 * 10^25,
            // which would pass
            // every check on the sum alone (positive, below 10^26, below requests * 10^9).
            row(MALLORY, D2, "u", 0, manyRequests, nearLimit, BigDecimal.ZERO),
            row(MALLORY, D2, "u", 1, manyRequests, nearLimit, BigDecimal.ZERO),
            row(MALLORY, D2, "u", 2, manyRequests, nearLimit, BigDecimal.ZERO),
            row(MALLORY, D2, "u", 3, manyRequests, nearLimit, BigDecimal.ZERO),
            // A negative row hidden in a plausible sum of 5.
            row(MALLORY, D3, "u", 0, 1, new BigDecimal("-5"), BigDecimal.ZERO),
            row(MALLORY, D3, "u", 1, 1, BigDecimal.TEN, BigDecimal.ZERO)));
    clickHouse.insertJsonEachRow(
        "api_key_hashes",
        ("{\"account_id\":\"" + WHALE + "\",\"api_key_hash\":\"" + KEY + "\"}\n")
            .getBytes(StandardCharsets.UTF_8));
    QueryTestEnv.awaitFreshPoll(cached);
  }

  @AfterAll
  static void stop() {
    for (ActivityServer server : new ActivityServer[] {cached, sqlOnly}) {
      if (server != null) {
        server.close();
      }
    }
    QueryTestEnv.dropDatabase(clickHouse, database);
  }

  @BeforeEach
  void captureLogs() {
    logs = new ListAppender<>();
    logs.start();
    rootLogger().addAppender(logs);
  }

  @AfterEach
  void releaseLogs() {
    rootLogger().detachAppender(logs);
  }

  private static Logger rootLogger() {
    return (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
  }

  /**
   * A rollup row's usage: its trillion events at the top price on even shards, one unit below it on
   * odd ones.
   */
  private static BigDecimal rowUsage(int shard) {
    return (shard % 2 == 0 ? TOP : BELOW_TOP).multiply(BigDecimal.valueOf(REQUESTS));
  }

  private static String row(
      String account,
      String date,
      String user,
      int shard,
      long requests,
      BigDecimal usage,
      BigDecimal byok) {
    ObjectNode node = PLAIN.createObjectNode();
    node.put("account_id", account);
    node.put("date", date);
    node.put("api_key_hash", KEY);
    node.put("user_id", user);
    node.put("endpoint_id", "OpenAI/openai/gpt-4o");
    node.put("model", "openai/gpt-4o");
    node.put("model_permaslug", "openai/gpt-4o");
    node.put("provider_name", "OpenAI");
    node.put("shard", shard);
    node.put("requests", requests);
    node.put("prompt_tokens", 1);
    node.put("completion_tokens", 1);
    node.put("reasoning_tokens", 0);
    node.put("cached_tokens", 0);
    node.put("usage", usage);
    node.put("byok_usage_inference", byok);
    node.put("byok_requests", requests);
    node.put("version", 1);
    node.put("updated_at", "2026-11-22 00:00:00");
    try {
      return PLAIN.writeValueAsString(node);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void insert(List<String> rows) {
    clickHouse.insertJsonEachRow(
        "usage_daily", (String.join("\n", rows) + "\n").getBytes(StandardCharsets.UTF_8));
  }

  private static HttpResponse<String> get(
      ActivityServer server, String key, String path, String query) throws Exception {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path + "?" + query))
            .header("Authorization", "Bearer " + key)
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static JsonNode data(ActivityServer server, String key, String path, String query)
      throws Exception {
    HttpResponse<String> response = get(server, key, path, query);
    assertEquals(200, response.statusCode(), response.body());
    return EXACT.readTree(response.body()).get("data");
  }

  private static void assertMoney(BigDecimal expected, JsonNode actual) {
    assertTrue(actual.isNumber(), "a JSON number: " + actual);
    assertEquals(
        0,
        expected.compareTo(actual.decimalValue()),
        "expected " + expected.toPlainString() + ", got " + actual);
  }

  // ---- the largest legal totals
  // -------------------------------------------------------------------------------

  @Test
  void theLargestLegalRowsOfManyShardsAndGroupsAreServedExactlyByTheActivityApi() throws Exception {
    assertEquals(
        0, new BigDecimal("63999999999999999999968").compareTo(USER_USAGE), "23 integer digits");
    for (ActivityServer server : new ActivityServer[] {cached, sqlOnly}) {
      // Twice: on the cached server the first is a load, the second a hit.
      for (int round = 0; round < 2; round++) {
        JsonNode day = data(server, whaleKey, ActivityRouter.ROUTE, "date=" + D1);
        assertEquals(1, day.size());
        assertMoney(DAY_USAGE, day.get(0).get("usage"));
        assertMoney(DAY_USAGE, day.get(0).get("byok_usage_inference"));
        assertEquals(DAY_REQUESTS.toBigInteger(), day.get(0).get("requests").bigIntegerValue());

        JsonNode byUser =
            data(server, whaleKey, ActivityRouter.ROUTE, "date=" + D1 + "&group_by=user");
        assertEquals(USERS, byUser.size());
        for (JsonNode item : byUser) {
          assertMoney(USER_USAGE, item.get("usage"));
          assertMoney(USER_USAGE, item.get("byok_usage_inference"));
        }
      }
    }
  }

  @Test
  void theLargestLegalRowsAreExportedExactlyAsJsonAndCsv() throws Exception {
    JsonNode byUser =
        data(
            sqlOnly,
            whaleKey,
            ActivityRouter.EXPORT_ROUTE,
            "from=" + D1 + "&to=" + D1 + "&group_by=user&limit=1000");
    assertEquals(USERS, byUser.size());
    for (JsonNode row : byUser) {
      assertMoney(USER_USAGE, row.get("usage"));
      assertMoney(USER_USAGE, row.get("byok_usage_inference"));
    }
    JsonNode byDate =
        data(
            sqlOnly,
            whaleKey,
            ActivityRouter.EXPORT_ROUTE,
            "from=" + D2 + "&to=" + D1 + "&group_by=date");
    assertEquals(1, byDate.size());
    assertMoney(DAY_USAGE, byDate.get(0).get("usage"));

    HttpResponse<String> csv =
        get(
            sqlOnly,
            whaleKey,
            ActivityRouter.EXPORT_ROUTE,
            "from=" + D1 + "&to=" + D1 + "&group_by=date&format=csv");
    assertEquals(200, csv.statusCode(), csv.body());
    String[] lines = csv.body().split("\r\n");
    assertEquals(2, lines.length, csv.body());
    String[] cells = lines[1].split(",");
    assertEquals(D1, cells[0]);
    assertEquals("2559999999999999999998720", cells[cells.length - 2]);
    assertEquals(0, DAY_USAGE.compareTo(new BigDecimal(cells[cells.length - 2])));
    assertEquals(0, DAY_USAGE.compareTo(new BigDecimal(cells[cells.length - 1])));
  }

  // ---- impossible stored totals
  // ---------------------------------------------------------------------------------

  @Test
  void aTotalThatWrapsOrHidesANegativeRowIsAnErrorNamingTheAccountAndDayNeverANumber()
      throws Exception {
    for (ActivityServer server : new ActivityServer[] {cached, sqlOnly}) {
      for (String day : List.of(D2, D3)) {
        for (String route : List.of(ActivityRouter.ROUTE, ActivityRouter.EXPORT_ROUTE)) {
          for (String query :
              List.of(
                  "date=" + day,
                  "from=" + day + "&to=" + day + "&group_by=date",
                  "from=" + day + "&to=" + day + "&group_by=user&format=csv")) {
            if (route.equals(ActivityRouter.ROUTE) != query.startsWith("date=")) {
              continue;
            }
            logs.list.clear();
            HttpResponse<String> response = get(server, malloryKey, route, query);
            assertEquals(500, response.statusCode(), route + "?" + query + ": " + response.body());
            assertEquals(
                "Internal server error",
                EXACT.readTree(response.body()).get("error").get("message").asText());
            assertFalse(
                response.body().matches("(?s).*[0-9]{4,}.*"), "no amount in " + response.body());
            assertTrue(
                logs.list.stream().anyMatch(e -> names(e, "account " + MALLORY + ", day " + day)),
                "an error log names the account and day: " + route + "?" + query);
          }
        }
      }
      // The account's good day is still served, exactly: the impossible days fail only their own
      // answers.
      JsonNode good = data(server, malloryKey, ActivityRouter.ROUTE, "date=" + D1);
      assertMoney(BigDecimal.ONE, good.get(0).get("usage"));
    }
  }

  /** Whether {@code event}'s message or any exception in its chain mentions {@code text}. */
  private static boolean names(ILoggingEvent event, String text) {
    if (event.getFormattedMessage().contains(text)) {
      return true;
    }
    for (IThrowableProxy t = event.getThrowableProxy(); t != null; t = t.getCause()) {
      if (t.getMessage() != null && t.getMessage().contains(text)) {
        return true;
      }
    }
    return false;
  }
}
