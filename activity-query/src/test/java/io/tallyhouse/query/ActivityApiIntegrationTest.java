package io.tallyhouse.query;

import static io.tallyhouse.query.QueryTestEnv.A1;
import static io.tallyhouse.query.QueryTestEnv.A2;
import static io.tallyhouse.query.QueryTestEnv.AFTER_MIDNIGHT;
import static io.tallyhouse.query.QueryTestEnv.BETA_KEY;
import static io.tallyhouse.query.QueryTestEnv.CLAUDE;
import static io.tallyhouse.query.QueryTestEnv.D1;
import static io.tallyhouse.query.QueryTestEnv.D2;
import static io.tallyhouse.query.QueryTestEnv.EP_A;
import static io.tallyhouse.query.QueryTestEnv.EXACT;
import static io.tallyhouse.query.QueryTestEnv.OPENAI;
import static io.tallyhouse.query.QueryTestEnv.PLAIN;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tallyhouse.common.auth.CredentialKind;
import io.tallyhouse.common.auth.CredentialStore;
import io.tallyhouse.common.auth.Secrets;
import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.query.QueryTestEnv.Endpoint;
import io.tallyhouse.query.cache.CompletedDayCache;
import io.tallyhouse.testkit.ClickHouseEndpoint;
import io.tallyhouse.testkit.Infra;
import io.vertx.core.VertxOptions;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigDecimal;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * GET /api/v1/activity against a real ClickHouse: rows are written straight into the rollup tables,
 * the answers are compared item by item, field by field.
 */
class ActivityApiIntegrationTest {

  private static final HttpClient HTTP =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  private static final String ACME = "acme";
  private static final String BETA = "beta";
  private static final String HOSTILE_USER = "ü'ser \\ 1";

  private static final Endpoint EP_Z = new Endpoint("x/z", "x/z", "X", "X/z");

  private static final String TODAY = "2026-11-22";
  private static final String D3 = "2026-11-19";
  private static final String D4 = "2026-11-18";
  private static final String D5 = "2026-11-17";
  private static final String D30 = "2026-10-23";
  private static final String D31 = "2026-10-22";

  private static String database;
  private static ClickHouse clickHouse;
  private static ActivityServer server;

  /** Just before midnight at the end of 2026-11-22: same day, same window. */
  private static ActivityServer lateEvening;

  /** Just before midnight at the end of 2026-11-21: the window is 2026-10-22 .. 2026-11-20. */
  private static ActivityServer dayBefore;

  private static Path keysFile;
  private static String acmeKey;
  private static String betaKey;
  private static String revokedKey;
  private static String ingestToken;

  @BeforeAll
  static void start() throws Exception {
    ClickHouseEndpoint endpoint = Infra.clickhouse();
    database = QueryTestEnv.newDatabase("aq");
    CredentialStore keys = QueryTestEnv.newKeyStore("activity-query-test");
    keysFile = keys.file();
    acmeKey = QueryTestEnv.newKey(keys, CredentialKind.MANAGEMENT, ACME);
    betaKey = QueryTestEnv.newKey(keys, CredentialKind.MANAGEMENT, BETA);
    revokedKey = QueryTestEnv.newKey(keys, CredentialKind.MANAGEMENT, ACME);
    keys.revoke(Secrets.sha256Hex(revokedKey));
    ingestToken = QueryTestEnv.newKey(keys, CredentialKind.INGEST, null);

    Map<String, String> env = QueryTestEnv.of(endpoint, database, keys.file());
    QueryConfig config = QueryTestEnv.config(env);
    // The servers start on a migrated, empty database: no row exists yet.
    server = ActivityServer.start(config, Clock.fixed(AFTER_MIDNIGHT, ZoneOffset.UTC));
    lateEvening =
        ActivityServer.start(
            config, Clock.fixed(Instant.parse("2026-11-22T23:59:59.999Z"), ZoneOffset.UTC));
    dayBefore =
        ActivityServer.start(
            config, Clock.fixed(Instant.parse("2026-11-21T23:59:59.999Z"), ZoneOffset.UTC));
    clickHouse = QueryTestEnv.clickHouse(endpoint, database);
    insertFixture();
    // From here on the caches answer (a miss loads an account's days, then hits), as in production.
    for (ActivityServer s : new ActivityServer[] {server, lateEvening, dayBefore}) {
      QueryTestEnv.awaitFreshPoll(s);
    }
  }

  @AfterAll
  static void stop() {
    QueryTestEnv.close(server, lateEvening, dayBefore);
    QueryTestEnv.dropDatabase(clickHouse, database);
  }

  // ---- fixture
  // ------------------------------------------------------------------------------------------

  /**
   * One usage_daily row; tokens derive from requests (prompt 100x, completion 10x, reasoning 1x,
   * cached 3x).
   */
  private static String row(
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
    return QueryTestEnv.rollupRow(
        account, date, key, user, ep, requests, usage, byok, byokRequests, version);
  }

  private static String row(
      String account,
      String date,
      String key,
      String user,
      Endpoint ep,
      long requests,
      String usage) {
    return row(account, date, key, user, ep, requests, usage, "0", 0, 1);
  }

  /**
   * Each call is its own insert, so its rows land in their own part (FINAL must merge across
   * parts).
   */
  private static void insert(String table, String... lines) {
    QueryTestEnv.insert(clickHouse, table, List.of(lines));
  }

  private static String keyRow(String account, String key) {
    return QueryTestEnv.accountRow(account, "api_key_hash", key);
  }

  private static void insertFixture() {
    // Three versions of one rollup row in three parts; the highest version (3) is the truth, even
    // though
    // version 2 arrives last.
    insert("usage_daily", row(ACME, D1, A1, "u1", OPENAI, 1, "1.5", "0", 0, 1));
    insert(
        "usage_daily",
        row(ACME, D1, A1, "u1", OPENAI, 3, "123456789.123456789012", "0.000043022187", 1, 3));
    insert("usage_daily", row(ACME, D1, A1, "u1", OPENAI, 2, "2", "0", 0, 2));
    insert(
        "usage_daily",
        row(ACME, D1, A2, "", OPENAI, 1, "0.000000000001"),
        row(ACME, D1, A1, "u2", CLAUDE, 4, "2.5"),
        row(ACME, D1, A2, HOSTILE_USER, CLAUDE, 1, "0.1"),
        // Equal usage: endpoint ascending decides.
        row(ACME, D2, A1, "u1", EP_Z, 1, "5"),
        row(ACME, D2, A1, "u1", EP_A, 1, "5"),
        // Equal as doubles, different as decimals: the larger usage comes first although its
        // endpoint sorts last.
        row(ACME, D3, A1, "u1", EP_Z, 1, "123456789.123456789013"),
        row(ACME, D3, A1, "u1", EP_A, 1, "123456789.123456789012"),
        // Equal usage: no user first, then users ascending.
        row(ACME, D4, A1, "b", EP_A, 1, "1"),
        row(ACME, D4, A1, "", EP_A, 1, "1"),
        row(ACME, D4, A1, "a", EP_A, 1, "1"),
        // Equal usage: api keys ascending.
        row(ACME, D5, A2, "u1", EP_A, 1, "1"),
        row(ACME, D5, A1, "u1", EP_A, 1, "1"),
        row(ACME, D30, A2, "u1", OPENAI, 1, "7"),
        row(ACME, D31, A1, "u1", OPENAI, 1, "9"),
        row(ACME, TODAY, A1, "u1", OPENAI, 1, "11"),
        // Another tenant, once even with a hash equal to one of acme's keys.
        row(BETA, D1, BETA_KEY, "u1", OPENAI, 100, "1000"),
        row(BETA, D1, A1, "u1", OPENAI, 50, "500"));
    // An older version inserted after the newer one changes nothing.
    insert("usage_daily", row(ACME, D30, A2, "u1", OPENAI, 99, "99999", "0", 0, 0));
    insert(
        "api_key_hashes",
        keyRow(ACME, A1),
        keyRow(ACME, A2),
        keyRow(BETA, BETA_KEY),
        keyRow(BETA, A1));
    insert("api_key_hashes", keyRow(ACME, A1));
  }

  // ---- expected items
  // -----------------------------------------------------------------------------------

  private static ObjectNode item(
      String date, Endpoint ep, String usage, long requests, String byok, long byokRequests) {
    ObjectNode node = PLAIN.createObjectNode();
    node.put("date", date);
    node.put("model", ep.model());
    node.put("model_permaslug", ep.permaslug());
    node.put("endpoint_id", ep.id());
    node.put("provider_name", ep.provider());
    node.put("usage", new BigDecimal(usage));
    node.put("byok_usage_inference", new BigDecimal(byok));
    node.put("requests", requests);
    node.put("prompt_tokens", 100 * requests);
    node.put("completion_tokens", 10 * requests);
    node.put("reasoning_tokens", requests);
    node.put("cached_tokens", 3 * requests);
    node.put("byok_requests", byokRequests);
    return node;
  }

  private static ObjectNode item(String date, Endpoint ep, String usage, long requests) {
    return item(date, ep, usage, requests, "0", 0);
  }

  private static ObjectNode user(ObjectNode item, String user) {
    if (user == null) {
      item.putNull("user_id");
    } else {
      item.put("user_id", user);
    }
    return item;
  }

  private static ObjectNode key(ObjectNode item, String key) {
    return item.put("api_key_hash", key);
  }

  /** The three D1 openai versions collapse to version 3; plus the user-less 0.000000000001 row. */
  private static final String D1_OPENAI_USAGE = "123456789.123456789013";

  private static final String BYOK = "0.000043022187";

  // ---- HTTP
  // ---------------------------------------------------------------------------------------------

  private static HttpResponse<String> get(ActivityServer target, String authorization, String query)
      throws Exception {
    return QueryTestEnv.get(target, authorization, "/api/v1/activity", query);
  }

  private static HttpResponse<String> get(String key, String query) throws Exception {
    return get(server, "Bearer " + key, query);
  }

  private static JsonNode data(ActivityServer target, String key, String query) throws Exception {
    HttpResponse<String> response = get(target, "Bearer " + key, query);
    assertEquals(200, response.statusCode(), response.body());
    assertEquals("application/json", response.headers().firstValue("Content-Type").orElse(""));
    assertFalse(
        response.body().matches("(?s).*[0-9][eE][-+]?[0-9].*"),
        "no exponent notation: " + response.body());
    JsonNode root = EXACT.readTree(response.body());
    assertEquals(1, root.size(), "only data at the top level");
    return root.get("data");
  }

  private static void assertItems(String query, ObjectNode... expected) throws Exception {
    assertItems(server, acmeKey, query, expected);
  }

  private static void assertItems(
      ActivityServer target, String key, String query, ObjectNode... expected) throws Exception {
    ArrayNode want = PLAIN.createArrayNode();
    for (ObjectNode item : expected) {
      want.add(item);
    }
    // Through text and back with the exact reader, so both sides have the same number types.
    JsonNode wanted = EXACT.readTree(PLAIN.writeValueAsString(want));
    assertEquals(
        wanted.toPrettyString(), data(target, key, query).toPrettyString(), "items for ?" + query);
  }

  private static JsonNode error(HttpResponse<String> response, int status) throws Exception {
    return QueryTestEnv.error(response, status);
  }

  private static String enc(String value) {
    return QueryTestEnv.enc(value);
  }

  // ---- window
  // -------------------------------------------------------------------------------------------

  @Test
  void defaultAnswerHasOneItemPerDayAndEndpointInContractOrder() throws Exception {
    assertItems(
        "",
        item(D1, OPENAI, D1_OPENAI_USAGE, 4, BYOK, 1),
        item(D1, CLAUDE, "2.6", 5),
        item(D2, EP_A, "5", 1),
        item(D2, EP_Z, "5", 1),
        item(D3, EP_Z, "123456789.123456789013", 1),
        item(D3, EP_A, "123456789.123456789012", 1),
        item(D4, EP_A, "3", 3),
        item(D5, EP_A, "2", 2),
        item(D30, OPENAI, "7", 1));
  }

  @Test
  void windowIsTheSameFromJustAfterMidnightToJustBeforeTheNext() throws Exception {
    assertEquals(data(server, acmeKey, "").toString(), data(lateEvening, acmeKey, "").toString());
  }

  @Test
  void justBeforeMidnightTheWindowEndsAtYesterday() throws Exception {
    // today = 2026-11-21: 2026-10-22 (today-30) is in, 2026-11-21 (today) is out.
    assertItems(
        dayBefore,
        acmeKey,
        "",
        item(D2, EP_A, "5", 1),
        item(D2, EP_Z, "5", 1),
        item(D3, EP_Z, "123456789.123456789013", 1),
        item(D3, EP_A, "123456789.123456789012", 1),
        item(D4, EP_A, "3", 3),
        item(D5, EP_A, "2", 2),
        item(D30, OPENAI, "7", 1),
        item(D31, OPENAI, "9", 1));
    assertItems(dayBefore, acmeKey, "date=" + D31, item(D31, OPENAI, "9", 1));
    error(get(dayBefore, "Bearer " + acmeKey, "date=" + D1), 400);
  }

  @Test
  void dateFilterReadsOneDayOfTheWindowEdgesIncluded() throws Exception {
    assertItems(
        "date=" + D1, item(D1, OPENAI, D1_OPENAI_USAGE, 4, BYOK, 1), item(D1, CLAUDE, "2.6", 5));
    assertItems("date=" + D30, item(D30, OPENAI, "7", 1));
    assertItems("date=2026-11-10");
  }

  @Test
  void dateOutsideTheWindowIsRefused() throws Exception {
    for (String date : List.of(TODAY, D31, "2026-11-23", "2025-11-21")) {
      JsonNode error = error(get(acmeKey, "date=" + date), 400);
      assertEquals(
          "Date must be within the last 30 (completed) UTC days", error.get("message").asText());
    }
  }

  // ---- filters and groupings
  // ----------------------------------------------------------------------------

  @Test
  void apiKeyFilterInEitherCase() throws Exception {
    ObjectNode[] a2 = {
      item(D1, CLAUDE, "0.1", 1),
      item(D1, OPENAI, "0.000000000001", 1),
      item(D5, EP_A, "1", 1),
      item(D30, OPENAI, "7", 1)
    };
    assertItems("api_key_hash=" + A2, a2);
    assertItems("api_key_hash=" + A2.toUpperCase(), a2);
    // Beta's rows under the same hash never show.
    assertItems(
        "api_key_hash=" + A1,
        item(D1, OPENAI, "123456789.123456789012", 3, BYOK, 1),
        item(D1, CLAUDE, "2.5", 4),
        item(D2, EP_A, "5", 1),
        item(D2, EP_Z, "5", 1),
        item(D3, EP_Z, "123456789.123456789013", 1),
        item(D3, EP_A, "123456789.123456789012", 1),
        item(D4, EP_A, "3", 3),
        item(D5, EP_A, "1", 1));
  }

  @Test
  void userFilterMatchesTheExactUser() throws Exception {
    assertItems(
        "user_id=u1",
        item(D1, OPENAI, "123456789.123456789012", 3, BYOK, 1),
        item(D2, EP_A, "5", 1),
        item(D2, EP_Z, "5", 1),
        item(D3, EP_Z, "123456789.123456789013", 1),
        item(D3, EP_A, "123456789.123456789012", 1),
        item(D5, EP_A, "2", 2),
        item(D30, OPENAI, "7", 1));
    assertItems("user_id=" + enc(HOSTILE_USER), item(D1, CLAUDE, "0.1", 1));
    assertItems("user_id=U1");
  }

  @Test
  void filtersCombineWithGroupings() throws Exception {
    assertItems(
        "user_id=u1&api_key_hash=" + A2 + "&group_by=user",
        user(item(D5, EP_A, "1", 1), "u1"),
        user(item(D30, OPENAI, "7", 1), "u1"));
    assertItems("date=" + D4 + "&group_by=user&user_id=a", user(item(D4, EP_A, "1", 1), "a"));
  }

  @Test
  void groupByUserSplitsPerUserWithNoUserAsNull() throws Exception {
    assertItems(
        "group_by=user",
        user(item(D1, OPENAI, "123456789.123456789012", 3, BYOK, 1), "u1"),
        user(item(D1, CLAUDE, "2.5", 4), "u2"),
        user(item(D1, CLAUDE, "0.1", 1), HOSTILE_USER),
        user(item(D1, OPENAI, "0.000000000001", 1), null),
        user(item(D2, EP_A, "5", 1), "u1"),
        user(item(D2, EP_Z, "5", 1), "u1"),
        user(item(D3, EP_Z, "123456789.123456789013", 1), "u1"),
        user(item(D3, EP_A, "123456789.123456789012", 1), "u1"),
        user(item(D4, EP_A, "1", 1), null),
        user(item(D4, EP_A, "1", 1), "a"),
        user(item(D4, EP_A, "1", 1), "b"),
        user(item(D5, EP_A, "2", 2), "u1"),
        user(item(D30, OPENAI, "7", 1), "u1"));
  }

  @Test
  void groupByApiKeySplitsPerKey() throws Exception {
    assertItems(
        "group_by=api_key",
        key(item(D1, OPENAI, "123456789.123456789012", 3, BYOK, 1), A1),
        key(item(D1, CLAUDE, "2.5", 4), A1),
        key(item(D1, CLAUDE, "0.1", 1), A2),
        key(item(D1, OPENAI, "0.000000000001", 1), A2),
        key(item(D2, EP_A, "5", 1), A1),
        key(item(D2, EP_Z, "5", 1), A1),
        key(item(D3, EP_Z, "123456789.123456789013", 1), A1),
        key(item(D3, EP_A, "123456789.123456789012", 1), A1),
        key(item(D4, EP_A, "3", 3), A1),
        key(item(D5, EP_A, "1", 1), A1),
        key(item(D5, EP_A, "1", 1), A2),
        key(item(D30, OPENAI, "7", 1), A2));
  }

  @Test
  void groupByBothSplitsPerUserAndKey() throws Exception {
    ObjectNode[] expected = {
      key(user(item(D1, OPENAI, "123456789.123456789012", 3, BYOK, 1), "u1"), A1),
      key(user(item(D1, CLAUDE, "2.5", 4), "u2"), A1),
      key(user(item(D1, CLAUDE, "0.1", 1), HOSTILE_USER), A2),
      key(user(item(D1, OPENAI, "0.000000000001", 1), null), A2),
      key(user(item(D2, EP_A, "5", 1), "u1"), A1),
      key(user(item(D2, EP_Z, "5", 1), "u1"), A1),
      key(user(item(D3, EP_Z, "123456789.123456789013", 1), "u1"), A1),
      key(user(item(D3, EP_A, "123456789.123456789012", 1), "u1"), A1),
      key(user(item(D4, EP_A, "1", 1), null), A1),
      key(user(item(D4, EP_A, "1", 1), "a"), A1),
      key(user(item(D4, EP_A, "1", 1), "b"), A1),
      key(user(item(D5, EP_A, "1", 1), "u1"), A1),
      key(user(item(D5, EP_A, "1", 1), "u1"), A2),
      key(user(item(D30, OPENAI, "7", 1), "u1"), A2)
    };
    assertItems("group_by=user,api_key", expected);
    assertItems("group_by=" + enc("api_key,user"), expected);
  }

  @Test
  void unknownParametersAreIgnored() throws Exception {
    assertEquals(
        data(server, acmeKey, "").toString(),
        data(server, acmeKey, "foo=bar&limit=1&Date=nonsense&GROUP_BY=x").toString());
  }

  @Test
  void repeatedParameterIsRefused() throws Exception {
    JsonNode error = error(get(acmeKey, "date=" + D1 + "&date=" + D30), 400);
    assertEquals("Parameter date must be given at most once", error.get("message").asText());
    error(get(acmeKey, "group_by=user&group_by=api_key"), 400);
  }

  // ---- tenants and keys
  // ---------------------------------------------------------------------------------

  @Test
  void anotherAccountSeesOnlyItsOwnRows() throws Exception {
    assertItems(server, betaKey, "", item(D1, OPENAI, "1500", 150));
    assertItems(
        server,
        betaKey,
        "api_key_hash=" + A1 + "&group_by=api_key",
        key(item(D1, OPENAI, "500", 50), A1));
  }

  @Test
  void aWarmCacheOfOneAccountNeverAnswersAnother() throws Exception {
    QueryTestEnv.awaitFreshPoll(server);
    data(server, acmeKey, "");
    data(server, acmeKey, "group_by=user,api_key");
    double cached =
        QueryTestEnv.cacheAnswers(server, CompletedDayCache.HIT)
            + QueryTestEnv.cacheAnswers(server, CompletedDayCache.MISS);
    assertItems(server, betaKey, "", item(D1, OPENAI, "1500", 150));
    assertItems(
        server,
        betaKey,
        "group_by=user,api_key",
        key(user(item(D1, OPENAI, "1000", 100), "u1"), BETA_KEY),
        key(user(item(D1, OPENAI, "500", 50), "u1"), A1));
    assertItems(server, betaKey, "api_key_hash=" + A1, item(D1, OPENAI, "500", 50));
    assertItems(server, betaKey, "user_id=u1&date=" + D30);
    assertEquals(
        cached + 4,
        QueryTestEnv.cacheAnswers(server, CompletedDayCache.HIT)
            + QueryTestEnv.cacheAnswers(server, CompletedDayCache.MISS),
        "beta's answers came from the cache");
  }

  @Test
  void cacheHitsAreAnsweredWhileEveryWorkerThreadIsBusy() throws Exception {
    QueryTestEnv.awaitFreshPoll(server);
    String filtered = "api_key_hash=" + A1 + "&group_by=user";
    // The first requests load acme's days and find the key valid and the api key reported, on
    // worker threads.
    String all = get(acmeKey, "").body();
    String byKey = get(acmeKey, filtered).body();
    CountDownLatch release = new CountDownLatch(1);
    CountDownLatch busy = new CountDownLatch(VertxOptions.DEFAULT_WORKER_POOL_SIZE);
    for (int i = 0; i < VertxOptions.DEFAULT_WORKER_POOL_SIZE; i++) {
      server
          .vertx()
          .executeBlocking(
              () -> {
                busy.countDown();
                return release.await(1, TimeUnit.MINUTES);
              },
              false);
    }
    try {
      assertTrue(busy.await(1, TimeUnit.MINUTES), "every worker thread is taken");
      // A request that needed a worker would wait for the release; a hit is answered on the event
      // loop.
      for (String[] hit : new String[][] {{"", all}, {filtered, byKey}}) {
        HttpResponse<String> answer =
            HTTP.sendAsync(
                    HttpRequest.newBuilder(
                            URI.create(
                                "http://127.0.0.1:"
                                    + server.port()
                                    + "/api/v1/activity"
                                    + (hit[0].isEmpty() ? "" : "?" + hit[0])))
                        .header("Authorization", "Bearer " + acmeKey)
                        .build(),
                    HttpResponse.BodyHandlers.ofString())
                .get(1, TimeUnit.MINUTES);
        assertEquals(200, answer.statusCode());
        assertEquals(hit[1], answer.body(), "the same answer as from a worker for ?" + hit[0]);
        assertEquals(1, release.getCount(), "answered while the workers were still taken");
      }
    } finally {
      release.countDown();
    }
  }

  @Test
  void aKeyRevokedAfterItsCacheHitsIsRefusedOnceTheKeyFileIsReread() throws Exception {
    CredentialStore keys = new CredentialStore(keysFile);
    String key = QueryTestEnv.newKey(keys, CredentialKind.MANAGEMENT, ACME);
    QueryTestEnv.awaitFreshPoll(server);
    assertEquals(200, get(key, "").statusCode());
    assertEquals(200, get(key, "").statusCode(), "a hit on the event loop");
    keys.revoke(Secrets.sha256Hex(key));
    // The store looks at the file again within a second; polled until then (a guard, not a timing
    // assertion).
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
    while (get(key, "").statusCode() == 200) {
      assertTrue(System.nanoTime() < deadline, "the revocation was not read within a minute");
      Thread.sleep(20);
    }
    error(get(key, ""), 401);
    error(get(key, ""), 401);
    assertEquals(200, get(acmeKey, "").statusCode(), "other keys still work");
  }

  @Test
  void apiKeyTheAccountNeverReportedIs404() throws Exception {
    error(get(acmeKey, "api_key_hash=" + BETA_KEY), 404);
    error(get(acmeKey, "api_key_hash=" + "dd".repeat(32)), 404);
    error(get(betaKey, "api_key_hash=" + A2), 404);
  }

  @Test
  void missingUnknownOrRevokedKeyIs401() throws Exception {
    HttpResponse<String> missing = get(server, null, "");
    error(missing, 401);
    assertEquals("Bearer", missing.headers().firstValue("WWW-Authenticate").orElse(""));
    error(get(server, "Bearer ", ""), 401);
    error(get(server, "Bearer th_mk_unknown", ""), 401);
    error(get(server, "Basic " + acmeKey, ""), 401);
    error(get(server, acmeKey, ""), 401);
    error(get(server, "Bearer " + revokedKey, ""), 401);
    // Authentication comes before parameter checks.
    error(get(server, null, "date=nonsense"), 401);
  }

  @Test
  void bearerSchemeIsCaseInsensitive() throws Exception {
    assertEquals(200, get(server, "bearer " + acmeKey, "").statusCode());
  }

  @Test
  void ingestTokenIs403() throws Exception {
    error(get(ingestToken, ""), 403);
    error(get(ingestToken, "date=nonsense"), 403);
  }

  // ---- hostile input
  // ------------------------------------------------------------------------------------

  static Stream<Arguments> hostileValues() {
    String big = "x".repeat(10_240);
    return Stream.of(
        Arguments.of("user_id", "'", 200),
        Arguments.of("user_id", "\\", 200),
        Arguments.of("user_id", "\\'", 200),
        Arguments.of("user_id", "' OR 1=1 --", 200),
        Arguments.of("user_id", "u1' OR '1'='1", 200),
        Arguments.of("user_id", "x' UNION ALL SELECT * FROM usage_daily --", 200),
        Arguments.of("user_id", "'; DROP TABLE usage_daily; --", 200),
        Arguments.of("user_id", "漢字 😀 ümlaut", 200),
        Arguments.of("user_id", "😀".repeat(256), 200),
        Arguments.of("user_id", "😀".repeat(257), 400),
        Arguments.of("user_id", big, 400),
        Arguments.of("user_id", "\u0000", 400),
        Arguments.of("user_id", "u1\n", 400),
        Arguments.of("user_id", "", 400),
        Arguments.of("api_key_hash", "' OR 1=1 --", 400),
        Arguments.of("api_key_hash", A1 + "' OR 1=1 --", 400),
        Arguments.of("api_key_hash", big, 400),
        Arguments.of("api_key_hash", "١".repeat(64), 400),
        Arguments.of("api_key_hash", "", 400),
        Arguments.of("date", D1 + "' OR '1'='1", 400),
        Arguments.of("date", big, 400),
        Arguments.of("date", "２０２６-１１-２１", 400),
        Arguments.of("date", "", 400),
        Arguments.of("group_by", "user' OR 1=1 --", 400),
        Arguments.of("group_by", big, 400),
        Arguments.of("group_by", "ユーザー", 400),
        Arguments.of("group_by", "", 400));
  }

  @ParameterizedTest(name = "{0}={2}")
  @MethodSource("hostileValues")
  void hostileValueIsRefusedOrMatchesNothing(String name, String value, int status)
      throws Exception {
    HttpResponse<String> response = get(acmeKey, name + "=" + enc(value));
    assertEquals(status, response.statusCode(), response.body());
    if (status == 200) {
      assertEquals(0, data(server, acmeKey, name + "=" + enc(value)).size());
    } else {
      String message = error(response, 400).get("message").asText();
      assertTrue(
          message.contains(name) || name.equals("date") && message.startsWith("Date"), message);
      assertFalse(message.contains(value.isEmpty() ? "\u0000" : value), "the value is not echoed");
    }
  }

  @Test
  void malformedPercentEscapeIs400() throws Exception {
    String answer =
        raw(
            "GET /api/v1/activity?user_id=%zz HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
                + acmeKey
                + "\r\nConnection: close\r\n\r\n");
    assertTrue(answer.startsWith("HTTP/1.1 400"), answer);
  }

  @Test
  void hugeRequestLineIsRefusedWithoutA500() throws Exception {
    HttpResponse<String> response = get(acmeKey, "user_id=" + "x".repeat(100_000));
    assertNotEquals(500, response.statusCode());
    assertTrue(
        response.statusCode() >= 400 && response.statusCode() < 500,
        String.valueOf(response.statusCode()));
  }

  private static String raw(String request) throws Exception {
    try (Socket socket = new Socket("127.0.0.1", server.port())) {
      socket.setSoTimeout(10_000);
      OutputStream out = socket.getOutputStream();
      out.write(request.getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      InputStream in = socket.getInputStream();
      ByteArrayOutputStream answer = new ByteArrayOutputStream();
      in.transferTo(answer);
      return answer.toString(StandardCharsets.UTF_8);
    }
  }

  // ---- ops
  // ----------------------------------------------------------------------------------------------

  @Test
  void healthAndMetrics() throws Exception {
    get(acmeKey, "");
    get(server, null, "");
    String base = "http://127.0.0.1:" + server.port();
    for (String path : List.of("/health/live", "/health/ready")) {
      HttpResponse<String> response =
          HTTP.send(
              HttpRequest.newBuilder(URI.create(base + path)).build(),
              HttpResponse.BodyHandlers.ofString());
      assertEquals(200, response.statusCode(), path);
      assertEquals("{\"status\":\"UP\"}", response.body());
    }
    String metrics =
        HTTP.send(
                HttpRequest.newBuilder(URI.create(base + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString())
            .body();
    assertTrue(
        metrics.contains(
            "http_server_requests_seconds_count{route=\"/api/v1/activity\",status=\"200\"}"),
        metrics);
    assertTrue(
        metrics.contains(
            "http_server_requests_seconds_count{route=\"/api/v1/activity\",status=\"401\"}"),
        metrics);
  }

  @Test
  void unknownPathAndMethodAnswerTheEnvelope() throws Exception {
    HttpResponse<String> response =
        HTTP.send(
            HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + server.port() + "/api/v1/nothing"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    error(response, 404);
    HttpResponse<String> post =
        HTTP.send(
            HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + server.port() + "/api/v1/activity"))
                .header("Authorization", "Bearer " + acmeKey)
                .POST(HttpRequest.BodyPublishers.ofString("{}"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    error(post, 405);
  }

  @Test
  void anAnswerOfMoreItemsThanTheCapIs400AndNarrowerAnswersAreUnchanged() throws Exception {
    String wide = "group_by=user,api_key";
    int all = data(server, acmeKey, wide).size();
    JsonNode narrow = data(server, acmeKey, "");
    assertTrue(narrow.size() < all && narrow.size() > 0, narrow.size() + " of " + all);
    // From the cache (a miss, then hits on the event loop) and from the SQL path (cache off).
    for (String cacheBytes : List.of("default", "0")) {
      Map<String, String> env = QueryTestEnv.of(Infra.clickhouse(), database, keysFile);
      env.put("ACTIVITY_MAX_ITEMS", Integer.toString(all - 1));
      if (!cacheBytes.equals("default")) {
        env.put("CACHE_MAX_BYTES", cacheBytes);
      }
      try (ActivityServer capped =
          ActivityServer.start(
              QueryTestEnv.config(env), Clock.fixed(AFTER_MIDNIGHT, ZoneOffset.UTC))) {
        if (capped.cache().enabled()) {
          QueryTestEnv.awaitFreshPoll(capped);
        }
        for (int i = 0; i < 3; i++) {
          String message =
              error(get(capped, "Bearer " + acmeKey, wide), 400).get("message").asText();
          assertTrue(message.contains("more than " + (all - 1) + " items"), message);
          assertTrue(message.contains("/api/v1/activity/export"), message);
          assertEquals(narrow, data(capped, acmeKey, ""), cacheBytes);
        }
      }
    }
  }

  @Test
  void clickHouseFailureIsAGeneric500() throws Exception {
    ClickHouseEndpoint endpoint = Infra.clickhouse();
    try (FlakyClickHouseProxy proxy = new FlakyClickHouseProxy(endpoint.httpUrl())) {
      Map<String, String> env = QueryTestEnv.of(proxy.url(), endpoint, database, keysFile);
      try (ActivityServer failing =
          ActivityServer.start(
              QueryTestEnv.config(env), Clock.fixed(AFTER_MIDNIGHT, ZoneOffset.UTC))) {
        // Beta's answer proves the proxy forwards; acme's days are not cached, so acme's answers
        // need ClickHouse.
        assertEquals(200, get(failing, "Bearer " + betaKey, "date=" + D1).statusCode());
        proxy.fail();
        for (String query : List.of("", "api_key_hash=" + A1)) {
          HttpResponse<String> response = get(failing, "Bearer " + acmeKey, query);
          assertEquals(500, response.statusCode());
          assertEquals(
              "{\"error\":{\"code\":500,\"message\":\"Internal server error\"}}", response.body());
        }
        HttpResponse<String> ready =
            HTTP.send(
                HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + failing.port() + "/health/ready"))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(503, ready.statusCode());
      }
    }
  }
}
