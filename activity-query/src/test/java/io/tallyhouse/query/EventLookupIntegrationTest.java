package io.tallyhouse.query;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tallyhouse.common.auth.CredentialKind;
import io.tallyhouse.common.auth.CredentialStore;
import io.tallyhouse.common.auth.Secrets;
import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.SqlLiteral;
import io.tallyhouse.common.clickhouse.TabSeparated;
import io.tallyhouse.query.event.StoredEvent;
import io.tallyhouse.testkit.ClickHouseEndpoint;
import io.tallyhouse.testkit.Infra;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.math.BigDecimal;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * GET /api/v1/events/{event_id} against a real ClickHouse: rows written straight into usage_events
 * as usage-stream's writer stores them, looked up through the running service over raw HTTP (so the
 * exact bytes of hostile paths reach the server).
 */
class EventLookupIntegrationTest {

  private static final String ACME = "acme";
  private static final String BETA = "beta";
  private static final String ACME_KEY = "a1".repeat(32);
  private static final String BETA_KEY = "b2".repeat(32);
  private static final String ROUTE = "/api/v1/events/";

  /** 2026-11-21T10:15:30.123456Z in microseconds. */
  private static final long CREATED_US = 1_795_256_130_123_456L;

  /** 2026-11-21T10:15:30.987001Z in microseconds. */
  private static final long RECEIVED_US = 1_795_256_130_987_001L;

  /** 2026-10-01T08:00:00.000001Z: a day whose partition a test drops. */
  private static final long OLD_US = 1_790_841_600_000_001L;

  private static final DateTimeFormatter DATE_TIME =
      DateTimeFormatter.ofPattern("uuuu-MM-dd HH:mm:ss").withZone(ZoneOffset.UTC);

  private static String database;
  private static ClickHouse clickHouse;
  private static ActivityServer server;
  private static String acmeKey;
  private static String betaKey;
  private static String revokedKey;
  private static String ingestToken;

  @BeforeAll
  static void start() throws Exception {
    ClickHouseEndpoint endpoint = Infra.clickhouse();
    database = QueryTestEnv.newDatabase("aqe");
    CredentialStore keys = QueryTestEnv.newKeyStore("event-lookup-test");
    acmeKey = QueryTestEnv.newKey(keys, CredentialKind.MANAGEMENT, ACME);
    betaKey = QueryTestEnv.newKey(keys, CredentialKind.MANAGEMENT, BETA);
    revokedKey = QueryTestEnv.newKey(keys, CredentialKind.MANAGEMENT, ACME);
    keys.revoke(Secrets.sha256Hex(revokedKey));
    ingestToken = QueryTestEnv.newKey(keys, CredentialKind.INGEST, null);
    server =
        ActivityServer.start(
            QueryTestEnv.config(QueryTestEnv.of(endpoint, database, keys.file())),
            Clock.fixed(Instant.parse("2026-11-22T12:00:00Z"), ZoneOffset.UTC));
    clickHouse = QueryTestEnv.clickHouse(endpoint, database);
    insert(
        row(ACME, "gen-exact", ACME_KEY, "ü'ser \\ 😀", CREATED_US)
            .put("cost", new BigDecimal("999999999.999999999999"))
            .put("is_byok", 1)
            .put("byok_cost", new BigDecimal("0.000000000001"))
            .put("app", "https://app.example/ü")
            .put("workspace_id", "ws-7f3a:prod"));
    // An event without user and app, in a row without the workspace column: on 18.16 a
    // JSONEachRow insert stores '' for the missing column, a TabSeparated insert naming its columns
    // (as usage-stream's writer before workspaces did) stores the column's DEFAULT, 'default'.
    insert(row(ACME, "gen-plain", ACME_KEY, null, CREATED_US));
    insertWithoutWorkspaceColumn(row(ACME, "gen-old-writer", ACME_KEY, null, CREATED_US));
    // The same id in both accounts: each sees only its own.
    insert(row(ACME, "gen-shared", ACME_KEY, null, CREATED_US).put("model", "acme/model"));
    insert(row(BETA, "gen-shared", BETA_KEY, null, CREATED_US).put("model", "beta/model"));
    insert(row(BETA, "gen-beta-only", BETA_KEY, "beta-user", CREATED_US));
    // Ids a client must percent-encode, or that an SQL string would choke on.
    for (String id : List.of("it's", "back\\slash", "a/b", "gen+plus", "100%", "q'\\'--")) {
      insert(row(ACME, id, ACME_KEY, null, CREATED_US));
    }
  }

  @AfterAll
  static void stop() {
    QueryTestEnv.close(server);
    QueryTestEnv.dropDatabase(clickHouse, database);
  }

  // ---- rows

  /**
   * A usage_events row with the writer's columns, money exact; tokens 100/20/0/5, no app, no
   * workspace column (so the table's default applies, as for rows written before workspaces).
   */
  private static ObjectNode row(
      String account, String eventId, String apiKeyHash, String user, long createdMicros) {
    ObjectNode row = QueryTestEnv.PLAIN.createObjectNode();
    Instant created = Instant.ofEpochSecond(createdMicros / 1_000_000);
    row.put("date", created.atOffset(ZoneOffset.UTC).toLocalDate().toString());
    row.put("account_id", account);
    row.put("event_id", eventId);
    row.put("api_key_hash", apiKeyHash);
    if (user == null) {
      row.putNull("user");
    } else {
      row.put("user", user);
    }
    row.put("model", "openai/gpt-4o");
    row.put("model_permaslug", "openai/gpt-4o-2024-08-06");
    row.put("provider_name", "OpenAI");
    row.put("endpoint_id", "OpenAI/openai/gpt-4o-2024-08-06");
    row.put("created_at", dateTime(createdMicros));
    row.put("created_at_us", createdMicros);
    row.put("prompt_tokens", 100);
    row.put("completion_tokens", 20);
    row.put("reasoning_tokens", 0);
    row.put("cached_tokens", 5);
    row.put("cost", new BigDecimal("0.002500000000"));
    row.put("is_byok", 0);
    row.put("byok_cost", BigDecimal.ZERO);
    row.putNull("app");
    row.put("received_at", dateTime(RECEIVED_US));
    row.put("received_at_us", RECEIVED_US);
    return row;
  }

  private static String dateTime(long micros) {
    return DATE_TIME.format(Instant.ofEpochSecond(micros / 1_000_000));
  }

  /** One INSERT, so one part: a second insert of the same row is a second copy. */
  private static void insert(ObjectNode row) throws Exception {
    clickHouse.insertJsonEachRow(
        "usage_events",
        (QueryTestEnv.PLAIN.writeValueAsString(row) + "\n").getBytes(StandardCharsets.UTF_8));
  }

  /**
   * {@code row} as TabSeparated with its columns named (all but workspace_id), as usage-stream's
   * writer inserted before workspaces existed.
   */
  private static void insertWithoutWorkspaceColumn(ObjectNode row) {
    List<String> columns = new java.util.ArrayList<>();
    TabSeparated tsv = new TabSeparated(512);
    row.fields()
        .forEachRemaining(
            field -> {
              columns.add(field.getKey());
              JsonNode value = field.getValue();
              if (value.isNull()) {
                tsv.nullableString(null);
              } else if (value.isBigDecimal()) {
                tsv.decimal(value.decimalValue());
              } else {
                tsv.string(value.asText());
              }
            });
    clickHouse.insertTabSeparated("usage_events", columns, tsv.endRow().toByteArray());
  }

  // ---- HTTP

  private record Answer(int status, String body) {
    JsonNode json() throws Exception {
      return QueryTestEnv.EXACT.readTree(body);
    }
  }

  /**
   * GET {@code rawPath} sent byte for byte (no client normalises or refuses it), HTTP/1.1 with
   * Connection: close.
   */
  private static Answer get(String bearer, String rawPath) throws Exception {
    String request =
        "GET "
            + rawPath
            + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            + (bearer == null ? "" : "Authorization: Bearer " + bearer + "\r\n")
            + "\r\n";
    try (Socket socket = new Socket("127.0.0.1", server.port())) {
      socket.setSoTimeout(30_000);
      OutputStream out = socket.getOutputStream();
      out.write(request.getBytes(StandardCharsets.UTF_8));
      out.flush();
      ByteArrayOutputStream answer = new ByteArrayOutputStream();
      socket.getInputStream().transferTo(answer);
      String text = answer.toString(StandardCharsets.UTF_8);
      int status = Integer.parseInt(text.substring(9, 12));
      int bodyStart = text.indexOf("\r\n\r\n");
      return new Answer(status, bodyStart < 0 ? "" : text.substring(bodyStart + 4));
    }
  }

  private static Answer lookup(String bearer, String encodedId) throws Exception {
    return get(bearer, ROUTE + encodedId);
  }

  private static void assertNotFound(Answer answer, String what) throws Exception {
    assertEquals(404, answer.status(), what + ": " + answer.body());
    assertEquals(
        "{\"error\":{\"code\":404,\"message\":\"No such event for this account\"}}",
        answer.body(),
        what);
  }

  // ---- found

  @Test
  void aStoredEventIsAnsweredWithEveryFieldExactMoneyAndMicroseconds() throws Exception {
    Answer answer = lookup(acmeKey, "gen-exact");
    assertEquals(200, answer.status(), answer.body());
    JsonNode event = answer.json();
    assertEquals(List.of("data"), fieldNames(event));
    JsonNode data = event.get("data");
    assertEquals(StoredEvent.FIELDS, fieldNames(data));
    assertEquals("gen-exact", data.get("event_id").asText());
    assertEquals(ACME, data.get("account_id").asText());
    assertEquals(ACME_KEY, data.get("api_key_hash").asText());
    assertEquals("ü'ser \\ 😀", data.get("user").asText());
    assertEquals("openai/gpt-4o", data.get("model").asText());
    assertEquals("openai/gpt-4o-2024-08-06", data.get("model_permaslug").asText());
    assertEquals("OpenAI", data.get("provider_name").asText());
    assertEquals("OpenAI/openai/gpt-4o-2024-08-06", data.get("endpoint_id").asText());
    assertEquals("2026-11-21T10:15:30.123456Z", data.get("created_at").asText());
    assertEquals("2026-11-21T10:15:30.987001Z", data.get("received_at").asText());
    assertEquals(100, data.get("prompt_tokens").longValue());
    assertEquals(20, data.get("completion_tokens").longValue());
    assertEquals(0, data.get("reasoning_tokens").longValue());
    assertEquals(5, data.get("cached_tokens").longValue());
    assertTrue(data.get("prompt_tokens").isIntegralNumber());
    // Exact numbers, as JSON numbers: a double would print 1.0E9 and lose the last digits.
    assertTrue(data.get("cost").isBigDecimal());
    assertEquals(new BigDecimal("999999999.999999999999"), data.get("cost").decimalValue());
    assertEquals(new BigDecimal("0.000000000001"), data.get("byok_cost").decimalValue());
    assertTrue(answer.body().contains("\"cost\":999999999.999999999999,"), answer.body());
    assertTrue(answer.body().contains("\"byok_cost\":0.000000000001,"), answer.body());
    assertTrue(data.get("is_byok").booleanValue());
    assertEquals("https://app.example/ü", data.get("app").asText());
    assertEquals("ws-7f3a:prod", data.get("workspace_id").asText());
  }

  @Test
  void absentFieldsAreNullAndARowWithoutWorkspaceReadsDefault() throws Exception {
    Answer answer = lookup(acmeKey, "gen-plain");
    assertEquals(200, answer.status(), answer.body());
    JsonNode data = answer.json().get("data");
    assertTrue(data.get("user").isNull());
    assertTrue(data.get("app").isNull());
    assertFalse(data.get("is_byok").booleanValue());
    assertEquals("default", data.get("workspace_id").asText());
    Answer oldWriter = lookup(acmeKey, "gen-old-writer");
    assertEquals(200, oldWriter.status(), oldWriter.body());
    assertEquals("default", oldWriter.json().at("/data/workspace_id").asText());
    ObjectNode plainFields = data.deepCopy();
    ObjectNode oldWriterFields = oldWriter.json().get("data").deepCopy();
    plainFields.remove("event_id");
    oldWriterFields.remove("event_id");
    assertEquals(plainFields, oldWriterFields, "both rows store the same event");
    // 0.002500000000 is written plain without trailing zeros; 0 as 0.
    assertTrue(answer.body().contains("\"cost\":0.0025,"), answer.body());
    assertTrue(answer.body().contains("\"byok_cost\":0,"), answer.body());
  }

  @Test
  void idsThatMustBePercentEncodedAreFoundDecoded() throws Exception {
    for (String[] idAndPath :
        new String[][] {
          {"it's", "it%27s"},
          {"back\\slash", "back%5Cslash"},
          {"a/b", "a%2Fb"},
          {"a/b", "a%2fb"},
          {"gen+plus", "gen+plus"},
          {"gen+plus", "gen%2Bplus"},
          {"100%", "100%25"},
          {"q'\\'--", "q%27%5C%27--"},
          {"gen-exact", "%67en-exact"}
        }) {
      Answer answer = lookup(acmeKey, idAndPath[1]);
      assertEquals(200, answer.status(), idAndPath[1] + ": " + answer.body());
      assertEquals(idAndPath[0], answer.json().at("/data/event_id").asText(), idAndPath[1]);
    }
  }

  // ---- not found, isolation, retention

  @Test
  void anUnknownIdIs404() throws Exception {
    assertNotFound(lookup(acmeKey, "gen-never-reported"), "unknown");
  }

  @Test
  void anotherAccountsEventIs404AndIndistinguishableFromAnUnknownOne() throws Exception {
    assertNotFound(lookup(acmeKey, "gen-beta-only"), "beta's event, asked by acme");
    assertEquals(200, lookup(betaKey, "gen-beta-only").status());
    assertNotFound(lookup(betaKey, "gen-exact"), "acme's event, asked by beta");
    // One id in both accounts: each key sees its own account's event and nothing of the other's.
    JsonNode acme = lookup(acmeKey, "gen-shared").json().get("data");
    JsonNode beta = lookup(betaKey, "gen-shared").json().get("data");
    assertEquals(ACME, acme.get("account_id").asText());
    assertEquals("acme/model", acme.get("model").asText());
    assertEquals(ACME_KEY, acme.get("api_key_hash").asText());
    assertEquals(BETA, beta.get("account_id").asText());
    assertEquals("beta/model", beta.get("model").asText());
    assertEquals(BETA_KEY, beta.get("api_key_hash").asText());
  }

  @Test
  void anEventWhoseDayPartitionWasDroppedIs404() throws Exception {
    insert(row(ACME, "gen-old", ACME_KEY, null, OLD_US));
    Answer before = lookup(acmeKey, "gen-old");
    assertEquals(200, before.status(), before.body());
    assertEquals("2026-10-01T08:00:00.000001Z", before.json().at("/data/created_at").asText());
    // What usage-stream's raw retention does to a day older than RAW_RETENTION_DAYS.
    for (JsonNode part :
        clickHouse.query(
            "SELECT DISTINCT partition_id FROM system.parts WHERE active AND database = "
                + SqlLiteral.string(database)
                + " AND table = 'usage_events' AND min_date = toDate('2026-10-01')")) {
      clickHouse.execute(
          "ALTER TABLE usage_events DROP PARTITION ID "
              + SqlLiteral.string(part.get("partition_id").asText()));
    }
    assertNotFound(lookup(acmeKey, "gen-old"), "dropped partition");
    assertEquals(200, lookup(acmeKey, "gen-exact").status(), "other days are kept");
  }

  @Test
  void anEventInsertedTwiceIsOneAnswer() throws Exception {
    ObjectNode copy = row(ACME, "gen-twice", ACME_KEY, "twice", CREATED_US);
    copy.put("cost", new BigDecimal("1.100000000001"));
    insert(copy);
    insert(copy); // a writer retry: a second part with the same row
    assertEquals(
        "2",
        clickHouse
            .query("SELECT count() AS n FROM usage_events WHERE event_id = 'gen-twice'")
            .get(0)
            .get("n")
            .asText(),
        "both copies are stored (no merge yet)");
    Answer answer = lookup(acmeKey, "gen-twice");
    assertEquals(200, answer.status(), answer.body());
    assertEquals("gen-twice", answer.json().at("/data/event_id").asText());
    assertTrue(answer.body().contains("\"cost\":1.100000000001,"), answer.body());
    assertEquals(1, answer.json().size());
    assertTrue(answer.json().get("data").isObject());
  }

  // ---- refusals

  @Test
  void keysAreCheckedFirstAsOnTheActivityRoute() throws Exception {
    for (String id : List.of("gen-exact", "%00", "e".repeat(129))) {
      Answer missing = lookup(null, id);
      assertEquals(401, missing.status());
      assertEquals("{\"error\":{\"code\":401,\"message\":\"Missing API key\"}}", missing.body());
      assertEquals(401, lookup("sk-th-unknown", id).status());
      assertEquals(401, lookup(revokedKey, id).status());
      Answer ingest = lookup(ingestToken, id);
      assertEquals(403, ingest.status());
      assertEquals(
          "{\"error\":{\"code\":403,\"message\":\"A management key is required\"}}", ingest.body());
    }
  }

  @Test
  void idsBreakingTheContractAre400NamingTheParameterAndNeverReachSql() throws Exception {
    for (String path :
        List.of(
            "%00",
            "gen%00exact",
            "e".repeat(129),
            "%C3%A9".repeat(129),
            "with%20space",
            "tab%09",
            "new%0Aline",
            "x%27%20OR%20%271%27%3D%271",
            "nbsp%C2%A0")) {
      Answer answer = lookup(acmeKey, path);
      assertEquals(400, answer.status(), path + ": " + answer.body());
      String message = answer.json().at("/error/message").asText();
      assertTrue(message.startsWith("Parameter event_id "), path + ": " + message);
      assertEquals(400, answer.json().at("/error/code").asInt());
    }
    // 128 characters is still an id (none is stored): 404, not 400.
    assertNotFound(lookup(acmeKey, "e".repeat(128)), "128 characters");
    assertNotFound(lookup(acmeKey, "%C3%A9".repeat(128)), "128 two-byte characters");
  }

  @Test
  void hostileIdsAreNeverAServerError() throws Exception {
    List<String> wrong = new java.util.ArrayList<>();
    for (String path :
        List.of(
            "%27",
            "%5C",
            "%5C%27",
            "%27%29%3B%20DROP%20TABLE%20usage_events--",
            "%5C%27%20OR%201%3D1",
            "'",
            "\\",
            "%2F",
            "%2F..%2F..%2Fetc",
            "..%2F",
            "%25",
            "%zz",
            "%",
            "%C0%AF",
            "%FF",
            "%E2%80%8B",
            "%EF%BB%BF",
            "a;b",
            "a%3Bb",
            "x?id=gen-exact")) {
      Answer answer = lookup(acmeKey, path);
      boolean refused =
          (answer.status() == 400 || answer.status() == 404)
              && answer.body().startsWith("{\"error\":{\"code\":" + answer.status() + ",");
      if (!refused) {
        wrong.add(path + " answered " + answer.status() + ": " + answer.body());
      }
    }
    assertEquals(List.of(), wrong);
    assertEquals(
        0,
        QueryTestEnv.metric(
            server,
            "http_server_requests_seconds_count{route=\"/api/v1/events/{event_id}\",status=\"500\"}"));
    // The table is still there, whole.
    assertEquals(200, lookup(acmeKey, "gen-exact").status());
  }

  @Test
  void answersAreTimedUnderTheRouteTemplateNeverTheId() throws Exception {
    lookup(acmeKey, "gen-exact");
    lookup(acmeKey, "gen-metric-unknown");
    assertTrue(
        QueryTestEnv.metric(
                server,
                "http_server_requests_seconds_count{route=\"/api/v1/events/{event_id}\",status=\"200\"}")
            >= 1);
    assertTrue(
        QueryTestEnv.metric(
                server,
                "http_server_requests_seconds_count{route=\"/api/v1/events/{event_id}\",status=\"404\"}")
            >= 1);
    assertEquals(
        0,
        QueryTestEnv.metric(
            server,
            "http_server_requests_seconds_count{route=\"/api/v1/events/gen-metric-unknown\",status=\"404\"}"));
    assertTrue(
        QueryTestEnv.metric(server, "activity_clickhouse_query_seconds_count{query=\"event\"}")
            >= 2);
  }

  private static List<String> fieldNames(JsonNode node) {
    List<String> names = new java.util.ArrayList<>();
    node.fieldNames().forEachRemaining(names::add);
    return names;
  }
}
