package io.tallyhouse.query;

import static io.tallyhouse.query.QueryTestEnv.A1;
import static io.tallyhouse.query.QueryTestEnv.A2;
import static io.tallyhouse.query.QueryTestEnv.AFTER_MIDNIGHT;
import static io.tallyhouse.query.QueryTestEnv.BETA_KEY;
import static io.tallyhouse.query.QueryTestEnv.CLAUDE;
import static io.tallyhouse.query.QueryTestEnv.D1;
import static io.tallyhouse.query.QueryTestEnv.D2;
import static io.tallyhouse.query.QueryTestEnv.OPENAI;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tallyhouse.common.auth.CredentialKind;
import io.tallyhouse.common.auth.CredentialStore;
import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.query.QueryTestEnv.Endpoint;
import io.tallyhouse.schemas.contract.Workspaces;
import io.tallyhouse.testkit.ClickHouseEndpoint;
import io.tallyhouse.testkit.Infra;
import io.tallyhouse.testkit.NodeScripts;
import java.math.BigDecimal;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * OpenRouter's own TypeScript SDK ({@code @openrouter/sdk}, pinned in clients/package-lock.json)
 * calls {@code analytics.getUserActivity} against a running activity-query: every parameter the SDK
 * can send and every error it maps to a class of its own. The SDK checks each answer against its
 * schemas, so a field of OpenRouter's wire format that we drop, rename or mistype fails here as the
 * SDK's ResponseValidationError. The script (clients/openrouter-activity.mjs) prints what the SDK
 * returned, which is compared exactly: items in order, every field, money as the numbers the SDK
 * hands its caller.
 */
class OpenRouterSdkIntegrationTest {

  /** Reads the script's numbers as written, so money is compared as decimals. */
  private static final ObjectMapper JSON =
      JsonMapper.builder().enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS).build();

  private static final String ACME = "acme";
  private static final String BETA = "beta";

  /** OpenRouter's workspace ids are UUIDs. */
  private static final String WS_EU = "0b9f3c1e-6a51-4c8e-9f3d-2a7b5e4c1d10";

  private static final String WS_BETA = "7d1e2f30-4a5b-4c6d-8e9f-a0b1c2d3e4f5";

  /** More significant digits than a double holds: the SDK's number is the nearest double. */
  private static final String WIDE = "123456789.123456789012";

  private static String database;
  private static ClickHouse clickHouse;
  private static ActivityServer server;
  private static String acmeKey;
  private static String ingestToken;

  /** Each call's name and what the SDK made of the answer, as the script printed it. */
  private static Map<String, JsonNode> results;

  @BeforeAll
  static void start() throws Exception {
    ClickHouseEndpoint endpoint = Infra.clickhouse();
    database = QueryTestEnv.newDatabase("sdk");
    CredentialStore keys = QueryTestEnv.newKeyStore("openrouter-sdk-test");
    acmeKey = QueryTestEnv.newKey(keys, CredentialKind.MANAGEMENT, ACME);
    QueryTestEnv.newKey(keys, CredentialKind.MANAGEMENT, BETA);
    ingestToken = QueryTestEnv.newKey(keys, CredentialKind.INGEST, null);
    server =
        ActivityServer.start(
            QueryTestEnv.config(QueryTestEnv.of(endpoint, database, keys.file())),
            Clock.fixed(AFTER_MIDNIGHT, ZoneOffset.UTC));
    clickHouse = QueryTestEnv.clickHouse(endpoint, database);
    insertFixture();
    QueryTestEnv.awaitFreshPoll(server);
    results = runSdk(calls());
  }

  @AfterAll
  static void stop() {
    QueryTestEnv.close(server);
    QueryTestEnv.dropDatabase(clickHouse, database);
  }

  // ---- fixture: rows as usage-stream writes them
  // ----------------------------------------------------------------

  /**
   * One usage_daily row of {@code workspace} (as shown; stored through {@link Workspaces#stored},
   * as the stream's writer does); tokens derive from requests (prompt 100x, completion 10x,
   * reasoning 1x).
   */
  private static String row(
      String account,
      String workspace,
      String date,
      String key,
      String user,
      Endpoint ep,
      long requests,
      String usage,
      String byok) {
    return QueryTestEnv.rollupRow(
        account, Workspaces.stored(workspace), date, key, user, ep, requests, usage, byok, 0, 1);
  }

  private static void insert(String table, String... lines) {
    QueryTestEnv.insert(clickHouse, table, List.of(lines));
  }

  private static void insertFixture() {
    String def = Workspaces.DEFAULT;
    insert(
        "usage_daily",
        row(ACME, def, D1, A1, "u1", OPENAI, 2, "1.25", "0.5"),
        row(ACME, WS_EU, D1, A2, "u2", OPENAI, 1, "0.75", "0"),
        row(ACME, WS_EU, D1, A1, "", CLAUDE, 3, WIDE, "0.000000000001"),
        row(ACME, def, D2, A2, "u1", CLAUDE, 1, "0.000000000001", "0"),
        // Another tenant on the same day, endpoint and even api key hash: never visible to acme.
        row(BETA, WS_BETA, D1, BETA_KEY, "u1", OPENAI, 100, "1000", "0"),
        row(BETA, def, D1, A1, "u1", OPENAI, 50, "500", "0"));
    insert(
        "api_key_hashes",
        pair("api_key_hash", ACME, A1),
        pair("api_key_hash", ACME, A2),
        pair("api_key_hash", BETA, BETA_KEY),
        pair("api_key_hash", BETA, A1));
    insert(
        "workspaces",
        pair("workspace_id", ACME, def),
        pair("workspace_id", ACME, WS_EU),
        pair("workspace_id", BETA, def),
        pair("workspace_id", BETA, WS_BETA));
  }

  private static String pair(String column, String account, String value) {
    return QueryTestEnv.accountRow(account, column, value);
  }

  // ---- the calls
  // ----------------------------------------------------------------------------------

  private static ArrayNode calls() {
    ArrayNode calls = JSON.createArrayNode();
    call(calls, "all", acmeKey, request());
    call(calls, "date", acmeKey, request().put("date", D2));
    call(calls, "apiKeyHash", acmeKey, request().put("apiKeyHash", A2));
    call(calls, "userId", acmeKey, request().put("userId", "u1"));
    call(calls, "workspaceId", acmeKey, request().put("workspaceId", WS_EU));
    call(calls, "workspaceId default", acmeKey, request().put("workspaceId", Workspaces.DEFAULT));
    call(calls, "groupBy workspace", acmeKey, request().put("groupBy", "workspace"));
    call(
        calls,
        "groupBy workspace, date",
        acmeKey,
        request().put("groupBy", "workspace").put("date", D1));
    call(calls, "bad date", acmeKey, request().put("date", "2026-13-01"));
    call(calls, "date outside the window", acmeKey, request().put("date", "2026-10-22"));
    call(calls, "unknown key", "sk-or-v1-" + "0".repeat(64), request());
    call(calls, "ingest token", ingestToken, request());
    call(calls, "unknown apiKeyHash", acmeKey, request().put("apiKeyHash", "d4".repeat(32)));
    call(calls, "another tenant's apiKeyHash", acmeKey, request().put("apiKeyHash", BETA_KEY));
    call(calls, "unknown workspaceId", acmeKey, request().put("workspaceId", WS_BETA));
    return calls;
  }

  private static ObjectNode request() {
    return JSON.createObjectNode();
  }

  private static void call(ArrayNode calls, String name, String key, ObjectNode request) {
    calls.addObject().put("name", name).put("key", key).set("request", request);
  }

  private static Map<String, JsonNode> runSdk(ArrayNode calls) throws Exception {
    NodeScripts.Result run =
        NodeScripts.run(
            "openrouter-activity.mjs",
            Map.of(
                "ACTIVITY_API_URL",
                "http://127.0.0.1:" + server.port() + "/api/v1",
                "CALLS",
                JSON.writeValueAsString(calls)),
            Duration.ofMinutes(2));
    assertEquals(0, run.exitCode(), run.describe());
    Map<String, JsonNode> byName = new LinkedHashMap<>();
    for (String line : run.lines()) {
      JsonNode result = JSON.readTree(line);
      byName.put(result.path("name").asText(), result);
    }
    assertEquals(calls.size(), byName.size(), "one result per call\n" + run.describe());
    return byName;
  }

  // ---- expected items: the SDK's ActivityItem (camelCase, OpenRouter's fields only)
  // ---------------

  private static Map<String, String> item(
      String date, Endpoint ep, long requests, String usage, String byok) {
    Map<String, String> item = new TreeMap<>();
    item.put("date", date);
    item.put("model", ep.model());
    item.put("modelPermaslug", ep.permaslug());
    item.put("endpointId", ep.id());
    item.put("providerName", ep.provider());
    item.put("usage", plain(usage));
    item.put("byokUsageInference", plain(byok));
    item.put("requests", Long.toString(requests));
    item.put("promptTokens", Long.toString(100 * requests));
    item.put("completionTokens", Long.toString(10 * requests));
    item.put("reasoningTokens", Long.toString(requests));
    return item;
  }

  private static Map<String, String> item(
      String date, Endpoint ep, long requests, String usage, String byok, String workspace) {
    Map<String, String> item = item(date, ep, requests, usage, byok);
    item.put("workspaceId", workspace);
    return item;
  }

  private static String plain(String decimal) {
    return new BigDecimal(decimal).stripTrailingZeros().toPlainString();
  }

  /**
   * The items the SDK returned for {@code call}, each field as text: money as the plain decimal of
   * the number the SDK returned (checked to be a JSON number), so 2.5 and 2.50 compare equal but
   * 2.5 and 2.6 or "2.5" (a string) do not.
   */
  private static List<Map<String, String>> items(String call) {
    JsonNode result = results.get(call);
    assertTrue(result.has("result"), call + ": the SDK failed: " + result);
    JsonNode data = result.path("result").path("data");
    assertTrue(data.isArray(), call + ": " + result);
    List<Map<String, String>> items = new ArrayList<>();
    for (JsonNode node : data) {
      Map<String, String> item = new TreeMap<>();
      for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> field = it.next();
        JsonNode value = field.getValue();
        if (field.getKey().equals("usage") || field.getKey().equals("byokUsageInference")) {
          assertTrue(value.isNumber(), call + ": " + field.getKey() + " is not a number: " + node);
          item.put(field.getKey(), value.decimalValue().stripTrailingZeros().toPlainString());
        } else {
          item.put(field.getKey(), value.asText());
        }
      }
      items.add(item);
    }
    return items;
  }

  private static void assertError(String call, String errorClass, int status) {
    JsonNode result = results.get(call);
    assertEquals(errorClass, result.path("error").asText(), call + ": " + result);
    assertEquals(status, result.path("status").asInt(), call + ": " + result);
  }

  /**
   * The SDK's number for {@link #WIDE}: a double cannot hold 21 significant digits, so the caller
   * gets the nearest one, whatever digits we sent beyond it.
   */
  private static String wideAsSdkNumber() {
    return new BigDecimal(Double.toString(Double.parseDouble(WIDE)))
        .stripTrailingZeros()
        .toPlainString();
  }

  // ---- the tests
  // ----------------------------------------------------------------------------------

  @Test
  void noParametersSumsAcrossWorkspacesWithoutWorkspaceId() {
    assertEquals(
        List.of(
            item(D1, CLAUDE, 3, wideAsSdkNumber(), "0.000000000001"),
            item(D1, OPENAI, 3, "2", "0.5"),
            item(D2, CLAUDE, 1, "0.000000000001", "0")),
        items("all"));
  }

  @Test
  void dateApiKeyHashAndUserIdFilter() {
    assertEquals(List.of(item(D2, CLAUDE, 1, "0.000000000001", "0")), items("date"));
    assertEquals(
        List.of(item(D1, OPENAI, 1, "0.75", "0"), item(D2, CLAUDE, 1, "0.000000000001", "0")),
        items("apiKeyHash"));
    assertEquals(
        List.of(item(D1, OPENAI, 2, "1.25", "0.5"), item(D2, CLAUDE, 1, "0.000000000001", "0")),
        items("userId"));
  }

  @Test
  void workspaceIdFiltersWithoutAddingTheField() {
    assertEquals(
        List.of(
            item(D1, CLAUDE, 3, wideAsSdkNumber(), "0.000000000001"),
            item(D1, OPENAI, 1, "0.75", "0")),
        items("workspaceId"));
    assertEquals(
        List.of(item(D1, OPENAI, 2, "1.25", "0.5"), item(D2, CLAUDE, 1, "0.000000000001", "0")),
        items("workspaceId default"));
  }

  @Test
  void groupByWorkspaceSplitsRowsAndNamesTheWorkspace() {
    String def = Workspaces.DEFAULT;
    List<Map<String, String>> d1 =
        List.of(
            item(D1, CLAUDE, 3, wideAsSdkNumber(), "0.000000000001", WS_EU),
            item(D1, OPENAI, 2, "1.25", "0.5", def),
            item(D1, OPENAI, 1, "0.75", "0", WS_EU));
    List<Map<String, String>> all = new ArrayList<>(d1);
    all.add(item(D2, CLAUDE, 1, "0.000000000001", "0", def));
    assertEquals(all, items("groupBy workspace"));
    assertEquals(d1, items("groupBy workspace, date"));
  }

  @Test
  void errorsAreTheSdksOwnClasses() {
    assertError("bad date", "BadRequestResponseError", 400);
    assertError("date outside the window", "BadRequestResponseError", 400);
    assertEquals(
        "Date must be within the last 30 (completed) UTC days",
        results.get("date outside the window").path("message").asText());
    assertError("unknown key", "UnauthorizedResponseError", 401);
    assertError("ingest token", "ForbiddenResponseError", 403);
    assertError("unknown apiKeyHash", "NotFoundResponseError", 404);
    assertError("another tenant's apiKeyHash", "NotFoundResponseError", 404);
  }

  @Test
  void aWorkspaceTheAccountNeverReportedIsNotFound() {
    // Another tenant's workspace included: it exists, but not for the caller.
    assertError("unknown workspaceId", "NotFoundResponseError", 404);
  }
}
