package io.tallyhouse.query;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.tallyhouse.common.auth.CredentialKind;
import io.tallyhouse.common.auth.CredentialStore;
import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.ClickHouseConfig;
import io.tallyhouse.common.http.HttpServers;
import io.tallyhouse.query.export.ExportRequest;
import io.tallyhouse.query.export.ExportRow;
import io.tallyhouse.query.http.ActivityRouter;
import io.tallyhouse.query.http.QueryString;
import io.tallyhouse.testkit.ClickHouseEndpoint;
import io.tallyhouse.testkit.Infra;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * src/main/resources/activity-openapi.yaml against the running service: item, row and event schemas
 * list exactly the fields the service returns, every documented GET answers, and every status seen
 * here is documented.
 */
class OpenApiContractIntegrationTest {

  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  private static final String KEY = "d4".repeat(32);
  private static final String EVENTS = "/api/v1/events/";
  private static final String EVENT_PATH = EVENTS + "{event_id}";
  private static final String EVENT_WITH_USER = "gen-1";
  private static final String EVENT_WITHOUT_USER = "gen-2";

  private static String database;
  private static ClickHouse clickHouse;
  private static ActivityServer server;
  private static String key;
  private static String ingestToken;
  private static JsonNode spec;

  /** path -> statuses this test saw on it. */
  private static final Map<String, Set<String>> SEEN = new TreeMap<>();

  @BeforeAll
  static void start() throws Exception {
    ClickHouseEndpoint endpoint = Infra.clickhouse();
    database = QueryTestEnv.newDatabase("aqo");
    CredentialStore keys = QueryTestEnv.newKeyStore("activity-openapi-test");
    key = QueryTestEnv.newKey(keys, CredentialKind.MANAGEMENT, "acme");
    ingestToken = QueryTestEnv.newKey(keys, CredentialKind.INGEST, null);
    Map<String, String> env = QueryTestEnv.of(endpoint, database, keys.file());
    server =
        ActivityServer.start(
            QueryTestEnv.config(env),
            Clock.fixed(Instant.parse("2026-11-22T12:00:00Z"), ZoneOffset.UTC));
    clickHouse =
        new ClickHouse(
            new ClickHouseConfig(
                endpoint.httpUrl(), endpoint.user(), endpoint.password(), database));
    String row =
        "{\"account_id\":\"acme\",\"workspace_id\":\"%s\",\"date\":\"2026-11-21\",\"api_key_hash\":\""
            + KEY
            + "\",\"user_id\":\"%s\","
            + "\"endpoint_id\":\"E/m\",\"model\":\"m\",\"model_permaslug\":\"m\",\"provider_name\":\"E\",\"requests\":1,"
            + "\"prompt_tokens\":2,\"completion_tokens\":3,\"reasoning_tokens\":4,\"cached_tokens\":5,\"usage\":0.5,"
            + "\"byok_usage_inference\":0.25,\"byok_requests\":1,\"version\":1,\"updated_at\":\"2026-11-22 00:00:00\"}";
    clickHouse.insertJsonEachRow(
        "usage_daily",
        (row.formatted("", "u1") + "\n" + row.formatted("ws-1", "") + "\n")
            .getBytes(StandardCharsets.UTF_8));
    clickHouse.insertJsonEachRow(
        "workspaces",
        ("{\"account_id\":\"acme\",\"workspace_id\":\"default\"}\n"
                + "{\"account_id\":\"acme\",\"workspace_id\":\"ws-1\"}\n")
            .getBytes(StandardCharsets.UTF_8));
    clickHouse.insertJsonEachRow(
        "api_key_hashes",
        ("{\"account_id\":\"acme\",\"api_key_hash\":\"" + KEY + "\"}\n")
            .getBytes(StandardCharsets.UTF_8));
    String event =
        "{\"date\":\"2026-11-21\",\"account_id\":\"acme\",\"event_id\":\"%s\",\"api_key_hash\":\""
            + KEY
            + "\",\"user\":%s,\"model\":\"m\",\"model_permaslug\":\"m\",\"provider_name\":\"E\","
            + "\"endpoint_id\":\"E/m\",\"created_at\":\"2026-11-21 10:00:00\",\"created_at_us\":1795255200000001,"
            + "\"prompt_tokens\":2,\"completion_tokens\":3,\"reasoning_tokens\":4,\"cached_tokens\":5,"
            + "\"cost\":0.5,\"is_byok\":1,\"byok_cost\":0.25,\"app\":%s,\"workspace_id\":\"default\","
            + "\"received_at\":\"2026-11-21 10:00:01\",\"received_at_us\":1795255201000000}";
    clickHouse.insertJsonEachRow(
        "usage_events",
        (event.formatted(EVENT_WITH_USER, "\"u1\"", "\"app\"")
                + "\n"
                + event.formatted(EVENT_WITHOUT_USER, "null", "null")
                + "\n")
            .getBytes(StandardCharsets.UTF_8));
    spec = YAML.readTree(get(null, "/openapi.yaml", "").body());
  }

  @AfterAll
  static void stop() {
    if (server != null) {
      server.close();
    }
    QueryTestEnv.dropDatabase(clickHouse, database);
  }

  private static HttpResponse<String> get(String bearer, String path, String query)
      throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(
            URI.create(
                "http://127.0.0.1:" + server.port() + path + (query.isEmpty() ? "" : "?" + query)));
    if (bearer != null) {
      request.header("Authorization", "Bearer " + bearer);
    }
    HttpResponse<String> response =
        HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    synchronized (SEEN) {
      SEEN.computeIfAbsent(path.startsWith(EVENTS) ? EVENT_PATH : path, p -> new TreeSet<>())
          .add(Integer.toString(response.statusCode()));
    }
    return response;
  }

  private static Set<String> properties(String schema) {
    Set<String> names = new TreeSet<>();
    spec.at("/components/schemas/" + schema + "/properties")
        .fieldNames()
        .forEachRemaining(names::add);
    return names;
  }

  private static Set<String> required(String schema) {
    Set<String> names = new TreeSet<>();
    spec.at("/components/schemas/" + schema + "/required").forEach(n -> names.add(n.asText()));
    return names;
  }

  private static Set<String> fields(JsonNode item) {
    Set<String> names = new TreeSet<>();
    item.fieldNames().forEachRemaining(names::add);
    return names;
  }

  @Test
  void servedDocumentIsTheResource() throws Exception {
    HttpResponse<String> response = get(null, "/openapi.yaml", "");
    assertEquals(200, response.statusCode());
    assertTrue(
        response.headers().firstValue("Content-Type").orElse("").startsWith("application/yaml"));
    assertEquals(
        new String(
            HttpServers.openApiDocument(ActivityRouter.class, ActivityRouter.OPENAPI_RESOURCE),
            StandardCharsets.UTF_8),
        response.body());
    assertTrue(spec.get("openapi").asText().startsWith("3."));
  }

  @Test
  void activityItemPropertiesAreTheFieldsReturnedForEveryGrouping() throws Exception {
    Set<String> documented = properties("ActivityItem");
    Set<String> always = required("ActivityItem");
    Set<String> union = new TreeSet<>();
    for (String groupBy :
        List.of(
            "",
            "user",
            "api_key",
            "user,api_key",
            "workspace",
            "workspace,user",
            "api_key,workspace",
            "user,api_key,workspace")) {
      JsonNode data =
          JSON.readTree(
                  get(key, "/api/v1/activity", groupBy.isEmpty() ? "" : "group_by=" + groupBy)
                      .body())
              .get("data");
      assertTrue(data.size() > 0, groupBy);
      Set<String> expected = new TreeSet<>(always);
      if (groupBy.contains("workspace")) {
        expected.add("workspace_id");
      }
      if (groupBy.contains("user")) {
        expected.add("user_id");
      }
      if (groupBy.contains("api_key")) {
        expected.add("api_key_hash");
      }
      for (JsonNode item : data) {
        assertEquals(expected, fields(item), groupBy);
        union.addAll(fields(item));
      }
    }
    assertEquals(documented, union);
  }

  @Test
  void exportRowPropertiesAreTheFieldsReturnedForEveryGrouping() throws Exception {
    Set<String> documented = properties("ExportRow");
    assertEquals(new TreeSet<>(ExportRow.TOTALS), required("ExportRow"));
    Set<String> union = new TreeSet<>();
    String[] groups = {"date", "workspace", "user", "api_key", "endpoint"};
    for (int mask = 1; mask < 1 << groups.length; mask++) {
      List<String> parts = new ArrayList<>();
      for (int i = 0; i < groups.length; i++) {
        if ((mask & 1 << i) != 0) {
          parts.add(groups[i]);
        }
      }
      String query = "from=2026-11-01&to=2026-11-21&group_by=" + String.join(",", parts);
      ExportRequest request =
          ExportRequest.parse(QueryString.parse(query), java.time.LocalDate.parse("2026-11-22"));
      Set<String> expected = new TreeSet<>(ExportRow.TOTALS);
      expected.addAll(request.groupColumns());
      JsonNode data = JSON.readTree(get(key, "/api/v1/activity/export", query).body()).get("data");
      assertTrue(data.size() > 0, query);
      for (JsonNode row : data) {
        assertEquals(expected, fields(row), query);
        union.addAll(fields(row));
      }
      String csvHeader =
          get(key, "/api/v1/activity/export", query + "&format=csv").body().split("\r\n")[0];
      assertEquals(expected, new TreeSet<>(List.of(csvHeader.split(","))), query);
    }
    assertEquals(documented, union);
  }

  @Test
  void eventPropertiesAreTheFieldsReturnedWithAndWithoutOptionalValues() throws Exception {
    Set<String> documented = properties("Event");
    assertEquals(documented, required("Event"), "every field is always present, null when absent");
    for (String id : List.of(EVENT_WITH_USER, EVENT_WITHOUT_USER)) {
      HttpResponse<String> response = get(key, EVENTS + id, "");
      assertEquals(200, response.statusCode(), response.body());
      JsonNode answer = JSON.readTree(response.body());
      assertEquals(Set.of("data"), fields(answer));
      assertEquals(documented, fields(answer.get("data")), id);
      for (String nullable : List.of("user", "app")) {
        assertEquals(
            id.equals(EVENT_WITHOUT_USER),
            answer.get("data").get(nullable).isNull(),
            id + " " + nullable);
        assertTrue(
            spec.at("/components/schemas/Event/properties/" + nullable + "/nullable").asBoolean(),
            nullable);
      }
    }
  }

  @Test
  void everyDocumentedGetAnswersAndEveryStatusSeenIsDocumented() throws Exception {
    List<String> paths = new ArrayList<>();
    spec.get("paths").fieldNames().forEachRemaining(paths::add);
    assertEquals(
        new TreeSet<>(
            List.of(
                "/api/v1/activity",
                "/api/v1/activity/export",
                EVENT_PATH,
                "/health/live",
                "/health/ready",
                "/metrics",
                "/openapi.yaml")),
        new TreeSet<>(paths));
    for (String path : paths) {
      assertEquals(Set.of("get"), toSet(spec.get("paths").get(path).fieldNames()), path);
      String query = path.endsWith("export") ? "from=2026-11-21&to=2026-11-21" : "";
      int status = get(key, path.replace("{event_id}", EVENT_WITH_USER), query).statusCode();
      assertNotEquals(404, status, path);
      assertNotEquals(405, status, path);
      assertEquals(200, status, path);
    }
    // The error answers of the two API routes.
    for (String path : List.of("/api/v1/activity", "/api/v1/activity/export")) {
      String valid = path.endsWith("export") ? "from=2026-11-21&to=2026-11-21" : "";
      assertEquals(401, get(null, path, valid).statusCode());
      assertEquals(401, get("sk-th-unknown", path, valid).statusCode());
      assertEquals(403, get(ingestToken, path, valid).statusCode());
      assertEquals(
          400, get(key, path, "group_by=nope" + (valid.isEmpty() ? "" : "&" + valid)).statusCode());
      assertEquals(
          404,
          get(key, path, "api_key_hash=" + "e5".repeat(32) + (valid.isEmpty() ? "" : "&" + valid))
              .statusCode());
      assertEquals(
          200,
          get(key, path, "api_key_hash=" + KEY + (valid.isEmpty() ? "" : "&" + valid))
              .statusCode());
      assertEquals(
          404,
          get(key, path, "workspace_id=nope" + (valid.isEmpty() ? "" : "&" + valid)).statusCode());
      assertEquals(
          200,
          get(key, path, "workspace_id=default" + (valid.isEmpty() ? "" : "&" + valid))
              .statusCode());
      assertEquals(
          400,
          get(key, path, "workspace_id=a%27b" + (valid.isEmpty() ? "" : "&" + valid)).statusCode());
    }
    assertEquals(
        200,
        get(key, "/api/v1/activity/export", "from=2026-11-21&to=2026-11-21&format=csv")
            .statusCode());
    // The event route's error answers.
    assertEquals(401, get(null, EVENTS + EVENT_WITH_USER, "").statusCode());
    assertEquals(401, get("sk-th-unknown", EVENTS + EVENT_WITH_USER, "").statusCode());
    assertEquals(403, get(ingestToken, EVENTS + EVENT_WITH_USER, "").statusCode());
    assertEquals(400, get(key, EVENTS + "e".repeat(129), "").statusCode());
    assertEquals(404, get(key, EVENTS + "gen-unknown", "").statusCode());
    synchronized (SEEN) {
      for (Map.Entry<String, Set<String>> seen : SEEN.entrySet()) {
        JsonNode responses =
            spec.at(
                "/paths/" + seen.getKey().replace("~", "~0").replace("/", "~1") + "/get/responses");
        assertTrue(!responses.isMissingNode(), seen.getKey() + " is documented");
        for (String status : seen.getValue()) {
          assertTrue(
              responses.has(status),
              seen.getKey() + " answered " + status + " but documents " + responses);
        }
      }
    }
    // A refused export (ExportLimitsIntegrationTest provokes it) is documented with its
    // Retry-After.
    String ref = spec.at("/paths/~1api~1v1~1activity~1export/get/responses/429/$ref").asText();
    JsonNode tooMany =
        spec.at("/components/responses/" + ref.substring("#/components/responses/".length()));
    assertTrue(tooMany.at("/headers/Retry-After").isObject(), tooMany.toString());
    // Every response $ref resolves.
    for (String path : paths) {
      spec.at("/paths/" + path.replace("~", "~0").replace("/", "~1") + "/get/responses")
          .forEach(
              r -> {
                if (r.has("$ref")) {
                  String name =
                      r.get("$ref").asText().substring("#/components/responses/".length());
                  assertTrue(spec.at("/components/responses/" + name).has("description"), name);
                }
              });
    }
  }

  @Test
  void everyParameterTheServiceReadsIsDocumented() {
    assertEquals(
        Set.of("date", "workspace_id", "api_key_hash", "user_id", "group_by"),
        parameters("/paths/~1api~1v1~1activity/get/parameters"));
    assertEquals(
        Set.of(
            "from",
            "to",
            "group_by",
            "workspace_id",
            "user_id",
            "api_key_hash",
            "format",
            "limit",
            "cursor"),
        parameters("/paths/~1api~1v1~1activity~1export/get/parameters"));
    assertTrue(
        spec.at("/paths/~1api~1v1~1activity/get/parameters")
            .toString()
            .contains("#/components/parameters/WorkspaceId"));
  }

  /** The names of the parameters at {@code pointer}, references resolved. */
  private static Set<String> parameters(String pointer) {
    Set<String> names = new TreeSet<>();
    for (JsonNode parameter : spec.at(pointer)) {
      JsonNode resolved =
          parameter.has("$ref") ? spec.at(parameter.get("$ref").asText().substring(1)) : parameter;
      assertEquals("query", resolved.get("in").asText(), resolved.toString());
      names.add(resolved.get("name").asText());
    }
    return names;
  }

  private static Set<String> toSet(java.util.Iterator<String> names) {
    Set<String> out = new TreeSet<>();
    names.forEachRemaining(out::add);
    return out;
  }
}
