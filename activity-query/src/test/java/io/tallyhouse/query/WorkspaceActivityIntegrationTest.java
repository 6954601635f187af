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
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tallyhouse.common.auth.CredentialKind;
import io.tallyhouse.common.auth.CredentialStore;
import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.query.QueryTestEnv.Endpoint;
import io.tallyhouse.schemas.contract.Workspaces;
import io.tallyhouse.testkit.ClickHouseEndpoint;
import io.tallyhouse.testkit.Infra;
import java.math.BigDecimal;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Workspaces on {@code /api/v1/activity} and its export against a real ClickHouse (CONTRACT.md
 * sections 3 and 4): rows are written into usage_daily and workspaces as the stream writes them (''
 * in usage_daily and {@code default} in workspaces for the default workspace). One service answers
 * from its cache, a second one with the cache off from SQL; both must give the same bytes.
 */
class WorkspaceActivityIntegrationTest {

  /** Usage in three workspaces. */
  private static final String ACME = "acme";

  /** Acme's rows, all in the default workspace: the answers acme gave before workspaces. */
  private static final String MONO = "mono";

  /** Another tenant with a workspace of acme's name and one of its own. */
  private static final String BETA = "beta";

  private static final String WS1 = "ws-1";
  private static final String WS2 = "ws:2";
  private static final String BETA_ONLY = "beta-only";

  private static String database;
  private static ClickHouse clickHouse;

  /** Answers from its cache, as in production. */
  private static ActivityServer cached;

  /** CACHE_MAX_BYTES=0: every answer from SQL. */
  private static ActivityServer uncached;

  private static String acmeKey;
  private static String monoKey;
  private static String betaKey;

  @BeforeAll
  static void start() throws Exception {
    ClickHouseEndpoint endpoint = Infra.clickhouse();
    database = QueryTestEnv.newDatabase("aqw");
    CredentialStore keys = QueryTestEnv.newKeyStore("activity-query-workspaces");
    acmeKey = QueryTestEnv.newKey(keys, CredentialKind.MANAGEMENT, ACME);
    monoKey = QueryTestEnv.newKey(keys, CredentialKind.MANAGEMENT, MONO);
    betaKey = QueryTestEnv.newKey(keys, CredentialKind.MANAGEMENT, BETA);
    Map<String, String> env = QueryTestEnv.of(endpoint, database, keys.file());
    cached = ActivityServer.start(QueryTestEnv.config(env), clock());
    env.put("CACHE_MAX_BYTES", "0");
    uncached = ActivityServer.start(QueryTestEnv.config(env), clock());
    clickHouse = QueryTestEnv.clickHouse(endpoint, database);
    insertFixture();
    QueryTestEnv.awaitFreshPoll(cached);
  }

  private static Clock clock() {
    return Clock.fixed(AFTER_MIDNIGHT, ZoneOffset.UTC);
  }

  @AfterAll
  static void stop() {
    QueryTestEnv.close(cached, uncached);
    QueryTestEnv.dropDatabase(clickHouse, database);
  }

  // ---- fixture
  // ------------------------------------------------------------------------------------------

  /** One rollup row of acme in {@code workspace} (as the API names it) and the same row of mono. */
  private static List<String> acmeAndMono(
      String workspace,
      String date,
      String key,
      String user,
      Endpoint ep,
      long requests,
      String usage) {
    // Mono's rows of one group in several workspaces of acme's go to shards of their own: rows of
    // one sorting key would replace each other instead of adding up.
    String monoRow = row(MONO, Workspaces.DEFAULT, date, key, user, ep, requests, usage);
    return List.of(
        row(ACME, workspace, date, key, user, ep, requests, usage),
        "{\"shard\":" + monoShards++ + "," + monoRow.substring(1));
  }

  private static int monoShards;

  private static String row(
      String account,
      String workspace,
      String date,
      String key,
      String user,
      Endpoint ep,
      long requests,
      String usage) {
    return QueryTestEnv.rollupRow(
        account, Workspaces.stored(workspace), date, key, user, ep, requests, usage, "0", 0, 1);
  }

  private static void insert(String table, List<String> lines) {
    QueryTestEnv.insert(clickHouse, table, lines);
  }

  private static String pair(String account, String column, String value) {
    return QueryTestEnv.accountRow(account, column, value);
  }

  private static void insertFixture() {
    List<String> rows = new ArrayList<>();
    rows.addAll(acmeAndMono(Workspaces.DEFAULT, D1, A1, "u1", OPENAI, 1, "1.5"));
    rows.addAll(acmeAndMono(WS1, D1, A1, "u1", OPENAI, 2, "2.25"));
    rows.addAll(acmeAndMono(WS1, D1, A2, "u2", CLAUDE, 3, "0.000000000001"));
    rows.addAll(acmeAndMono(WS2, D1, A2, "", OPENAI, 4, "10"));
    // Equal usage on one endpoint: workspace_id ascending decides (default before ws-1).
    rows.addAll(acmeAndMono(WS1, D2, A1, "u1", EP_A, 1, "5"));
    rows.addAll(acmeAndMono(Workspaces.DEFAULT, D2, A1, "u1", EP_A, 1, "5"));
    rows.add(row(BETA, WS1, D1, BETA_KEY, "u1", OPENAI, 100, "1000"));
    rows.add(row(BETA, BETA_ONLY, D1, BETA_KEY, "u1", OPENAI, 50, "500"));
    insert("usage_daily", rows);
    insert(
        "workspaces",
        List.of(
            pair(ACME, "workspace_id", Workspaces.DEFAULT),
            pair(ACME, "workspace_id", WS1),
            pair(ACME, "workspace_id", WS2),
            pair(MONO, "workspace_id", Workspaces.DEFAULT),
            pair(BETA, "workspace_id", WS1),
            pair(BETA, "workspace_id", BETA_ONLY)));
    insert(
        "api_key_hashes",
        List.of(
            pair(ACME, "api_key_hash", A1),
            pair(ACME, "api_key_hash", A2),
            pair(MONO, "api_key_hash", A1),
            pair(MONO, "api_key_hash", A2),
            pair(BETA, "api_key_hash", BETA_KEY)));
  }

  // ---- expected items
  // -----------------------------------------------------------------------------------

  /** An item; tokens derive from requests as {@link QueryTestEnv#rollupRow} writes them. */
  private static ObjectNode item(String date, Endpoint ep, String usage, long requests) {
    ObjectNode node = PLAIN.createObjectNode();
    node.put("date", date);
    node.put("model", ep.model());
    node.put("model_permaslug", ep.permaslug());
    node.put("endpoint_id", ep.id());
    node.put("provider_name", ep.provider());
    node.put("usage", new BigDecimal(usage));
    node.put("byok_usage_inference", BigDecimal.ZERO);
    node.put("requests", requests);
    node.put("prompt_tokens", 100 * requests);
    node.put("completion_tokens", 10 * requests);
    node.put("reasoning_tokens", requests);
    node.put("cached_tokens", 3 * requests);
    node.put("byok_requests", 0);
    return node;
  }

  private static ObjectNode item(
      String date, Endpoint ep, String workspace, String usage, long requests) {
    return item(date, ep, usage, requests).put("workspace_id", workspace);
  }

  // ---- HTTP
  // ---------------------------------------------------------------------------------------------

  private static HttpResponse<String> get(
      ActivityServer target, String key, String path, String query) throws Exception {
    return QueryTestEnv.get(target, "Bearer " + key, path, query);
  }

  private static HttpResponse<String> activity(String key, String query) throws Exception {
    return get(cached, key, "/api/v1/activity", query);
  }

  private static HttpResponse<String> export(String key, String query) throws Exception {
    return get(cached, key, "/api/v1/activity/export", query);
  }

  /**
   * The data of {@code query}, the same from the cache and from SQL (the body byte for byte), with
   * a 200.
   */
  private static JsonNode data(String key, String query) throws Exception {
    HttpResponse<String> fromCache = get(cached, key, "/api/v1/activity", query);
    assertEquals(200, fromCache.statusCode(), fromCache.body());
    HttpResponse<String> fromSql = get(uncached, key, "/api/v1/activity", query);
    assertEquals(fromSql.body(), fromCache.body(), "cache and SQL for ?" + query);
    JsonNode root = EXACT.readTree(fromCache.body());
    assertEquals(1, root.size(), "only data at the top level");
    return root.get("data");
  }

  private static void assertItems(String key, String query, ObjectNode... expected)
      throws Exception {
    ArrayNode want = PLAIN.createArrayNode();
    for (ObjectNode item : expected) {
      want.add(item);
    }
    JsonNode wanted = EXACT.readTree(PLAIN.writeValueAsString(want));
    assertEquals(wanted.toPrettyString(), data(key, query).toPrettyString(), "items for ?" + query);
  }

  private static String error(HttpResponse<String> response, int status) throws Exception {
    return QueryTestEnv.error(response, status).get("message").asText();
  }

  private static String enc(String value) {
    return QueryTestEnv.enc(value);
  }

  // ---- without group_by=workspace: OpenRouter's historical shape
  // -------------------------------------------

  @Test
  void withoutTheGroupingRowsAreSummedAcrossWorkspacesAndItemsHaveNoWorkspaceId() throws Exception {
    assertItems(
        acmeKey,
        "",
        item(D1, OPENAI, "13.75", 7),
        item(D1, CLAUDE, "0.000000000001", 3),
        item(D2, EP_A, "10", 2));
    for (String query :
        List.of("", "group_by=user", "group_by=api_key", "group_by=user,api_key", "date=" + D1)) {
      JsonNode acme = data(acmeKey, query);
      assertEquals(data(monoKey, query), acme, "as if every row were in default: ?" + query);
      acme.forEach(item -> assertFalse(item.has("workspace_id"), item.toString()));
    }
  }

  // ---- group_by=workspace
  // -------------------------------------------------------------------------------

  @Test
  void groupByWorkspaceSplitsPerWorkspaceInContractOrder() throws Exception {
    assertItems(
        acmeKey,
        "group_by=workspace",
        item(D1, OPENAI, WS2, "10", 4),
        item(D1, OPENAI, WS1, "2.25", 2),
        item(D1, OPENAI, "default", "1.5", 1),
        item(D1, CLAUDE, WS1, "0.000000000001", 3),
        item(D2, EP_A, "default", "5", 1),
        item(D2, EP_A, WS1, "5", 1));
    assertItems(monoKey, "group_by=workspace&date=" + D2, item(D2, EP_A, "default", "10", 2));
  }

  @Test
  void groupByWorkspaceCombinesWithUserAndApiKeyInAnyOrder() throws Exception {
    ObjectNode[] byAll = {
      item(D1, OPENAI, WS2, "10", 4).putNull("user_id").put("api_key_hash", A2),
      item(D1, OPENAI, WS1, "2.25", 2).put("user_id", "u1").put("api_key_hash", A1),
      item(D1, OPENAI, "default", "1.5", 1).put("user_id", "u1").put("api_key_hash", A1),
      item(D1, CLAUDE, WS1, "0.000000000001", 3).put("user_id", "u2").put("api_key_hash", A2)
    };
    for (String groupBy :
        List.of("workspace,user,api_key", "api_key,workspace,user", "user,api_key,workspace")) {
      assertItems(acmeKey, "date=" + D1 + "&group_by=" + groupBy, byAll);
    }
    assertItems(
        acmeKey,
        "date=" + D1 + "&group_by=user,workspace",
        item(D1, OPENAI, WS2, "10", 4).putNull("user_id"),
        item(D1, OPENAI, WS1, "2.25", 2).put("user_id", "u1"),
        item(D1, OPENAI, "default", "1.5", 1).put("user_id", "u1"),
        item(D1, CLAUDE, WS1, "0.000000000001", 3).put("user_id", "u2"));
    assertItems(
        acmeKey,
        "date=" + D2 + "&group_by=api_key,workspace",
        item(D2, EP_A, "default", "5", 1).put("api_key_hash", A1),
        item(D2, EP_A, WS1, "5", 1).put("api_key_hash", A1));
    for (String bad : List.of("workspace,workspace", "workspace,", "Workspace", "workspaces")) {
      assertTrue(
          error(activity(acmeKey, "group_by=" + bad), 400).contains("group_by"), "group_by=" + bad);
    }
  }

  // ---- workspace_id filter
  // ------------------------------------------------------------------------------

  @Test
  void workspaceFilterKeepsOnlyThatWorkspacesRows() throws Exception {
    assertItems(
        acmeKey,
        "workspace_id=" + WS1,
        item(D1, OPENAI, "2.25", 2),
        item(D1, CLAUDE, "0.000000000001", 3),
        item(D2, EP_A, "5", 1));
    assertItems(
        acmeKey, "workspace_id=default", item(D1, OPENAI, "1.5", 1), item(D2, EP_A, "5", 1));
    assertItems(
        acmeKey,
        "workspace_id=" + enc(WS2) + "&group_by=workspace,user",
        item(D1, OPENAI, WS2, "10", 4).putNull("user_id"));
    assertItems(
        acmeKey,
        "workspace_id=" + WS1 + "&api_key_hash=" + A2 + "&user_id=u2&date=" + D1,
        item(D1, CLAUDE, "0.000000000001", 3));
    // Beta reported a workspace of the same name: it sees its own rows only, and acme only acme's.
    assertItems(betaKey, "workspace_id=" + WS1, item(D1, OPENAI, "1000", 100));
  }

  @Test
  void aWorkspaceTheAccountNeverReportedIs404AlsoWhenAnotherAccountDid() throws Exception {
    String unknown = error(activity(acmeKey, "workspace_id=nope"), 404);
    assertEquals("Parameter workspace_id: no such workspace for this account", unknown);
    assertEquals(
        unknown,
        error(activity(acmeKey, "workspace_id=" + BETA_ONLY), 404),
        "another account's workspace answers exactly as an unknown one");
    assertEquals(unknown, error(activity(betaKey, "workspace_id=" + WS2), 404));
    assertEquals(
        unknown, error(activity(betaKey, "workspace_id=default"), 404), "beta never used default");
    assertEquals(
        unknown,
        error(export(acmeKey, "from=" + D2 + "&to=" + D1 + "&workspace_id=" + BETA_ONLY), 404));
    assertEquals(
        unknown,
        error(
            export(acmeKey, "from=" + D2 + "&to=" + D1 + "&format=csv&workspace_id=" + BETA_ONLY),
            404));
    // Parameters first (400), then ownership (404).
    assertEquals(400, activity(acmeKey, "workspace_id=nope&date=2020-01-01").statusCode());
  }

  /** The ClickHouse calls a request can make; the poller's are left out (they run on a timer). */
  private static double requestQueries(ActivityServer server) throws Exception {
    double total = 0;
    for (String query : List.of("activity", "key_lookup", "cache_load", "export")) {
      total +=
          QueryTestEnv.metric(
              server, "activity_clickhouse_query_seconds_count{query=\"" + query + "\"}");
    }
    return total;
  }

  @Test
  void hostileWorkspaceIdsAre400WithoutAnyQuery() throws Exception {
    List<String> hostile =
        List.of(
            "ws-1'",
            "' OR 1=1 --",
            "ws-1' OR '1'='1",
            "a\\b",
            "\\'",
            "x".repeat(129),
            "",
            "a b",
            "ws/1",
            "漢字",
            "\u0000");
    for (ActivityServer target : new ActivityServer[] {cached, uncached}) {
      double before = requestQueries(target);
      for (String value : hostile) {
        for (String path : List.of("/api/v1/activity", "/api/v1/activity/export")) {
          String query =
              (path.endsWith("export") ? "from=" + D2 + "&to=" + D1 + "&" : "")
                  + "workspace_id="
                  + enc(value);
          String message = error(get(target, acmeKey, path, query), 400);
          assertTrue(message.startsWith("Parameter workspace_id "), message);
          assertFalse(!value.isEmpty() && message.contains(value), "the value is not echoed");
        }
      }
      assertEquals(before, requestQueries(target), "nothing ran on ClickHouse");
    }
    // The longest legal id is a valid filter (this one was never reported).
    assertEquals(404, activity(acmeKey, "workspace_id=" + "x".repeat(128)).statusCode());
  }

  // ---- export
  // -------------------------------------------------------------------------------------------

  private static final String RANGE = "from=" + D2 + "&to=" + D1;

  private static final String TOTALS =
      "requests,prompt_tokens,completion_tokens,reasoning_tokens,cached_tokens,byok_requests,usage,byok_usage_inference";

  /** A CSV line of totals derived from requests as the fixture writes them. */
  private static String totals(long requests, String usage) {
    return requests
        + ","
        + 100 * requests
        + ","
        + 10 * requests
        + ","
        + requests
        + ","
        + 3 * requests
        + ",0,"
        + usage
        + ",0";
  }

  @Test
  void exportGroupsByWorkspaceInCsvAndJsonPagesWhoseCursorCoversTheWorkspace() throws Exception {
    HttpResponse<String> csv = export(acmeKey, RANGE + "&group_by=workspace,date&format=csv");
    assertEquals(200, csv.statusCode(), csv.body());
    // Rows by date, then workspace as usage_daily sorts it: '' (default) first, then bytewise.
    assertEquals(
        "date,workspace_id,"
            + TOTALS
            + "\r\n"
            + (D2 + ",default," + totals(1, "5") + "\r\n")
            + (D2 + ",ws-1," + totals(1, "5") + "\r\n")
            + (D1 + ",default," + totals(1, "1.5") + "\r\n")
            + (D1 + ",ws-1," + totals(5, "2.250000000001") + "\r\n")
            + (D1 + ",ws:2," + totals(4, "10") + "\r\n"),
        csv.body());

    // limit=1: every page boundary falls between two workspaces, one of them the default ('').
    List<String> walked = new ArrayList<>();
    String cursor = null;
    do {
      HttpResponse<String> page =
          export(
              acmeKey,
              RANGE
                  + "&group_by=date,workspace&limit=1"
                  + (cursor == null ? "" : "&cursor=" + cursor));
      assertEquals(200, page.statusCode(), page.body());
      JsonNode root = EXACT.readTree(page.body());
      for (JsonNode row : root.get("data")) {
        assertEquals(10, row.size(), row.toString());
        walked.add(
            row.get("date").asText()
                + ","
                + row.get("workspace_id").asText()
                + ","
                + row.get("requests").asText()
                + ","
                + row.get("usage").asText());
      }
      cursor = root.get("next_cursor").isNull() ? null : root.get("next_cursor").asText();
    } while (cursor != null && walked.size() < 10);
    assertEquals(
        List.of(
            D2 + ",default,1,5",
            D2 + ",ws-1,1,5",
            D1 + ",default,1,1.5",
            D1 + ",ws-1,5,2.250000000001",
            D1 + ",ws:2,4,10"),
        walked);
  }

  @Test
  void exportFiltersByWorkspaceAndWithoutTheGroupSumsAcrossWorkspaces() throws Exception {
    HttpResponse<String> filtered =
        export(acmeKey, RANGE + "&group_by=workspace,user&workspace_id=" + WS1 + "&format=csv");
    assertEquals(
        "workspace_id,user_id,"
            + TOTALS
            + "\r\n"
            + ("ws-1,u1," + totals(3, "7.25") + "\r\n")
            + ("ws-1,u2," + totals(3, "0.000000000001") + "\r\n"),
        filtered.body());
    JsonNode defaults =
        EXACT.readTree(export(acmeKey, RANGE + "&group_by=date&workspace_id=default").body());
    assertEquals(2, defaults.get("data").size(), defaults.toString());
    assertEquals("5", defaults.get("data").get(0).get("usage").asText());
    assertEquals("1.5", defaults.get("data").get(1).get("usage").asText());
    assertFalse(defaults.get("data").get(0).has("workspace_id"), "not grouped by workspace");

    // Without the workspace group acme's export equals mono's, whose rows are all in default.
    for (String groupBy : List.of("date", "user", "date,api_key,endpoint")) {
      assertEquals(
          export(monoKey, RANGE + "&format=csv&group_by=" + groupBy).body(),
          export(acmeKey, RANGE + "&format=csv&group_by=" + groupBy).body(),
          groupBy);
    }
    HttpResponse<String> beta =
        export(betaKey, RANGE + "&group_by=workspace&workspace_id=" + WS1 + "&format=csv");
    assertEquals(
        "workspace_id," + TOTALS + "\r\nws-1," + totals(100, "1000") + "\r\n", beta.body());
  }
}
