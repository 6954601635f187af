package io.tallyhouse.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.tallyhouse.common.auth.Secrets;
import io.tallyhouse.local.ExpectedActivity.SentEvent;
import io.tallyhouse.query.event.StoredEvent;
import io.tallyhouse.schemas.contract.Workspaces;
import java.io.IOException;
import java.math.BigDecimal;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The whole path on the real servers: HTTP ingest -> Kafka (Avro, registry) -> Kafka Streams
 * (dedup, rollup, exactly once) -> ClickHouse -> activity API and single-event lookup, compared
 * with answers computed independently from the events sent. The events span workspaces (two of
 * acme's, one of beta's, and none), so the workspace acceptance cases of issue 16 run here: group
 * by, filter, 404, and the historical shape without group_by.
 */
class EndToEndIntegrationTest {

  private static final ObjectMapper JSON =
      JsonMapper.builder()
          .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
          .nodeFactory(JsonNodeFactory.withExactBigDecimals(true))
          .build();
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  private static final String ACME = "acme";
  private static final String BETA = "beta.corp:eu-1";
  private static final String ACME_KEY_1 = Secrets.sha256Hex("acme-key-1");
  private static final String ACME_KEY_2 = Secrets.sha256Hex("acme-key-2");
  private static final String BETA_KEY = Secrets.sha256Hex("beta-key");

  /** acme's workspaces besides default: a name and a UUID, as OpenRouter's workspace ids are. */
  private static final String WS_PROD = "production";

  private static final String WS_UUID = "3f2b8a4e-6c1d-4f7a-9b2e-1a2b3c4d5e6f";
  private static final String BETA_WS = "beta.team:eu-1";

  /** An id a client must percent-encode in the lookup's path. */
  private static final String AWKWARD_ID = "evt/it's\\1+%";

  private static Instant started;

  private static Pipeline pipeline;
  private static LocalDate today;
  private static final List<SentEvent> SENT = new ArrayList<>();
  private static String acmeManagementKey;
  private static String betaManagementKey;
  private static String ingestToken;

  @BeforeAll
  static void sendTrafficAndWaitForIt() throws Exception {
    Instant now = Instant.now();
    started = now;
    Clock clock = Clock.fixed(now, ZoneOffset.UTC);
    today = LocalDate.ofInstant(now, ZoneOffset.UTC);
    pipeline = new Pipeline("e2e_" + Long.toHexString(now.toEpochMilli()), clock);
    ingestToken = pipeline.newIngestToken();
    acmeManagementKey = pipeline.newManagementKey(ACME);
    betaManagementKey = pipeline.newManagementKey(BETA);

    Random random = new Random(7);
    Instant todayStart = today.atStartOfDay(ZoneOffset.UTC).toInstant();
    int[] daysAgo = {1, 1, 2, 3, 7, 15, 29, 30, 31, 33};
    int sequence = 0;
    for (int d : daysAgo) {
      for (int i = 0; i < 12; i++) {
        Instant at = todayStart.minus(Duration.ofDays(d)).plusMillis(random.nextInt(86_400_000));
        SENT.add(
            randomEvent(random, "evt-" + sequence++, random.nextInt(4) == 0 ? BETA : ACME, at));
      }
    }
    // Today's usage is accepted but never shown in the window.
    Instant earlierToday =
        todayStart.plusMillis((now.toEpochMilli() - todayStart.toEpochMilli()) / 2);
    SENT.add(randomEvent(random, "evt-today-1", ACME, earlierToday));
    SENT.add(randomEvent(random, "evt-today-2", BETA, earlierToday));
    // Both sides of a UTC midnight.
    SENT.add(
        randomEvent(
            random,
            "evt-before-midnight",
            ACME,
            todayStart.minus(Duration.ofDays(1)).minusMillis(1)));
    SENT.add(randomEvent(random, "evt-after-midnight", ACME, todayStart.minus(Duration.ofDays(1))));
    // The same event_id in another account is another event.
    SENT.add(
        withAccount(
            SENT.stream().filter(e -> e.account().equals(ACME)).findFirst().orElseThrow(), BETA));

    postAll(SENT.subList(0, SENT.size() / 2));
    postAll(SENT.subList(SENT.size() / 2, SENT.size()));
    // The gateway retries: the same events again, alone and mixed into a later request.
    SentEvent retried = SENT.get(3);
    SENT.add(randomEvent(random, AWKWARD_ID, ACME, todayStart.minus(Duration.ofDays(2))));
    postAll(SENT.subList(SENT.size() - 1, SENT.size()));
    postAll(List.of(retried));
    postAll(List.of(SENT.get(5), retried, SENT.get(SENT.size() - 1)));
    SENT.add(retried);
    SENT.add(SENT.get(5));

    long distinct = SENT.stream().map(e -> e.account() + "/" + e.eventId()).distinct().count();
    long counted = pipeline.awaitCountedRequests(distinct);
    assertEquals(distinct, counted, "every distinct event reaches ClickHouse exactly once");
  }

  @AfterAll
  static void stop() {
    if (pipeline != null) {
      pipeline.close();
    }
  }

  @Test
  void activityListsEveryItemOfTheWindowExactlyOnceWithExactNumbers() throws Exception {
    assertActivity(acmeManagementKey, "", ACME, false, false, e -> true);
    assertActivity(betaManagementKey, "", BETA, false, false, e -> true);
  }

  @Test
  void todayAndDaysBeforeTheWindowNeverAppear() throws Exception {
    JsonNode data = get(acmeManagementKey, "").get("data");
    for (JsonNode item : data) {
      LocalDate date = LocalDate.parse(item.get("date").asText());
      assertTrue(
          date.isBefore(today) && !date.isBefore(today.minusDays(30)),
          "outside the window: " + date);
    }
    assertTrue(SENT.stream().anyMatch(e -> e.day().equals(today)));
    assertTrue(SENT.stream().anyMatch(e -> e.day().isBefore(today.minusDays(30))));
  }

  @Test
  void groupByUserAndApiKeySplitTheItems() throws Exception {
    assertActivity(acmeManagementKey, "group_by=user", ACME, true, false, e -> true);
    assertActivity(acmeManagementKey, "group_by=api_key", ACME, false, true, e -> true);
    assertActivity(acmeManagementKey, "group_by=user,api_key", ACME, true, true, e -> true);
  }

  @Test
  void filtersNarrowTheItems() throws Exception {
    LocalDate yesterday = today.minusDays(1);
    assertActivity(
        acmeManagementKey, "date=" + yesterday, ACME, false, false, e -> e.day().equals(yesterday));
    assertActivity(
        acmeManagementKey,
        "api_key_hash=" + ACME_KEY_2.toUpperCase(),
        ACME,
        false,
        false,
        e -> e.apiKeyHash().equals(ACME_KEY_2));
    // A user filter without group_by=user narrows the rows but adds no user_id field (CONTRACT.md
    // section 3).
    assertActivity(
        acmeManagementKey,
        "user_id=" + URLEncoder.encode("ü'ser \\ 1", StandardCharsets.UTF_8),
        ACME,
        false,
        false,
        e -> "ü'ser \\ 1".equals(e.user()));
    SentEvent sample =
        SENT.stream()
            .filter(
                e ->
                    e.account().equals(ACME)
                        && "user-2".equals(e.user())
                        && e.day().isBefore(today)
                        && !e.day().isBefore(today.minusDays(30)))
            .findFirst()
            .orElseThrow();
    assertActivity(
        acmeManagementKey,
        "group_by=user&user_id=user-2&date=" + sample.day(),
        ACME,
        true,
        false,
        e -> "user-2".equals(e.user()) && e.day().equals(sample.day()));
  }

  @Test
  void oneAccountNeverSeesAnotherAccountsData() throws Exception {
    HttpResponse<String> response = request(betaManagementKey, "api_key_hash=" + ACME_KEY_1);
    assertEquals(404, response.statusCode());
    assertEquals(404, JSON.readTree(response.body()).get("error").get("code").asInt());
    for (JsonNode item : get(betaManagementKey, "group_by=api_key").get("data")) {
      assertEquals(BETA_KEY, item.get("api_key_hash").asText());
    }
  }

  @Test
  void errorsAnswerAsTheContractSays() throws Exception {
    assertEquals(401, request(null, "").statusCode());
    assertEquals(401, request("th_mk_not-a-key", "").statusCode());
    assertEquals(403, request(ingestToken, "").statusCode());
    HttpResponse<String> outside = request(acmeManagementKey, "date=" + today);
    assertEquals(400, outside.statusCode());
    assertEquals(
        "Date must be within the last 30 (completed) UTC days",
        JSON.readTree(outside.body()).get("error").get("message").asText());
    assertEquals(400, request(acmeManagementKey, "group_by=model").statusCode());
    assertEquals(400, request(acmeManagementKey, "api_key_hash=xyz").statusCode());

    HttpResponse<String> invalid =
        post(ingestToken, "[{\"event_id\":\"x\",\"account_id\":\"acme\"}]");
    assertEquals(400, invalid.statusCode());
    assertFalse(JSON.readTree(invalid.body()).get("error").get("metadata").get("errors").isEmpty());
  }

  // ---- workspaces (issue 16's acceptance cases)

  @Test
  void groupByWorkspaceSplitsTheItemsAloneAndWithUserAndApiKey() throws Exception {
    assertActivity(acmeManagementKey, "group_by=workspace", ACME, true, false, false, e -> true);
    assertActivity(betaManagementKey, "group_by=workspace", BETA, true, false, false, e -> true);
    assertActivity(
        acmeManagementKey, "group_by=workspace,user", ACME, true, true, false, e -> true);
    assertActivity(
        acmeManagementKey, "group_by=api_key,workspace", ACME, true, false, true, e -> true);
    assertActivity(
        acmeManagementKey, "group_by=user,api_key,workspace", ACME, true, true, true, e -> true);
  }

  @Test
  void withoutGroupByWorkspaceItemsKeepTheHistoricalShapeSummedAcrossWorkspaces() throws Exception {
    // Exactly the fields of OpenRouter's historical items (assertAnswer compares the names), with
    // the sums of every workspace.
    assertActivity(acmeManagementKey, "", ACME, false, false, false, e -> true);
    assertActivity(acmeManagementKey, "group_by=user,api_key", ACME, false, true, true, e -> true);
    JsonNode summed = get(acmeManagementKey, "").get("data");
    JsonNode split = get(acmeManagementKey, "group_by=workspace").get("data");
    assertTrue(
        split.size() > summed.size(),
        "the fixture must have (date, endpoint) groups spread over several workspaces");
    Map<String, BigDecimal> usage = new java.util.HashMap<>();
    Map<String, Long> requests = new java.util.HashMap<>();
    for (JsonNode item : split) {
      String group = item.get("date").asText() + " " + item.get("endpoint_id").asText();
      usage.merge(group, item.get("usage").decimalValue(), BigDecimal::add);
      requests.merge(group, item.get("requests").longValue(), Long::sum);
    }
    for (JsonNode item : summed) {
      assertFalse(item.has("workspace_id"), item.toString());
      String group = item.get("date").asText() + " " + item.get("endpoint_id").asText();
      assertEquals(0, usage.get(group).compareTo(item.get("usage").decimalValue()), group);
      assertEquals(requests.get(group), item.get("requests").longValue(), group);
    }
    assertEquals(usage.keySet().size(), summed.size());
  }

  @Test
  void theWorkspaceFilterNarrowsTheItems() throws Exception {
    assertActivity(
        acmeManagementKey,
        "workspace_id=" + WS_PROD,
        ACME,
        false,
        false,
        false,
        e -> e.workspace().equals(WS_PROD));
    // Events without a workspace and those naming default alike.
    assertActivity(
        acmeManagementKey,
        "workspace_id=default&group_by=workspace",
        ACME,
        true,
        false,
        false,
        e -> e.workspace().equals(Workspaces.DEFAULT));
    assertActivity(
        acmeManagementKey,
        "workspace_id=" + WS_UUID + "&group_by=workspace,user",
        ACME,
        true,
        true,
        false,
        e -> e.workspace().equals(WS_UUID));
    assertActivity(
        betaManagementKey,
        "workspace_id=" + URLEncoder.encode(BETA_WS, StandardCharsets.UTF_8),
        BETA,
        false,
        false,
        false,
        e -> e.workspace().equals(BETA_WS));
    LocalDate yesterday = today.minusDays(1);
    assertActivity(
        acmeManagementKey,
        "workspace_id=" + WS_PROD + "&date=" + yesterday + "&api_key_hash=" + ACME_KEY_1,
        ACME,
        false,
        false,
        false,
        e ->
            e.workspace().equals(WS_PROD)
                && e.day().equals(yesterday)
                && e.apiKeyHash().equals(ACME_KEY_1));
  }

  @Test
  void aWorkspaceTheAccountNeverReportedIs404AndABrokenOne400() throws Exception {
    for (String[] keyAndWorkspace :
        new String[][] {
          {acmeManagementKey, "never-used"},
          {acmeManagementKey, BETA_WS},
          {betaManagementKey, WS_PROD},
          {betaManagementKey, WS_UUID}
        }) {
      HttpResponse<String> response =
          request(
              keyAndWorkspace[0],
              "workspace_id=" + URLEncoder.encode(keyAndWorkspace[1], StandardCharsets.UTF_8));
      assertEquals(404, response.statusCode(), keyAndWorkspace[1] + ": " + response.body());
      assertEquals(404, JSON.readTree(response.body()).get("error").get("code").asInt());
    }
    for (String broken : List.of("with space", "ws/slash", "w".repeat(129), "")) {
      HttpResponse<String> response =
          request(
              acmeManagementKey,
              "workspace_id=" + URLEncoder.encode(broken, StandardCharsets.UTF_8));
      assertEquals(400, response.statusCode(), broken + ": " + response.body());
      assertTrue(
          JSON.readTree(response.body())
              .get("error")
              .get("message")
              .asText()
              .contains("workspace_id"),
          response.body());
    }
  }

  // ---- single-event lookup

  @Test
  void oneEventIsLookedUpWithEveryFieldAsSent() throws Exception {
    for (SentEvent sent :
        List.of(
            sentEvent(ACME, e -> WS_UUID.equals(e.workspaceId()) && e.user() != null),
            sentEvent(ACME, e -> e.workspaceId() == null),
            sentEvent(BETA, e -> BETA_WS.equals(e.workspaceId())),
            sentEvent(ACME, e -> e.eventId().equals(AWKWARD_ID)))) {
      String key = sent.account().equals(ACME) ? acmeManagementKey : betaManagementKey;
      HttpResponse<String> response = pipeline.event(key, sent.eventId());
      assertEquals(200, response.statusCode(), sent.eventId() + ": " + response.body());
      JsonNode data = JSON.readTree(response.body()).get("data");
      assertStoredAsSent(sent, data);
    }
  }

  @Test
  void theLookupShowsOnlyTheCallersAccountAndOneCopyOfARetriedEvent() throws Exception {
    // The first acme event was also sent under beta (the same id is another event there).
    SentEvent acmeCopy = sentEvent(ACME, e -> true);
    SentEvent betaCopy =
        sentEvent(BETA, e -> e.eventId().equals(acmeCopy.eventId()) && e.account().equals(BETA));
    assertStoredAsSent(
        acmeCopy,
        JSON.readTree(pipeline.event(acmeManagementKey, acmeCopy.eventId()).body()).get("data"));
    assertStoredAsSent(
        betaCopy,
        JSON.readTree(pipeline.event(betaManagementKey, betaCopy.eventId()).body()).get("data"));
    // An event of acme only is unknown to beta, exactly as an id nobody sent.
    SentEvent acmeOnly =
        sentEvent(
            ACME,
            e ->
                SENT.stream()
                    .noneMatch(
                        other ->
                            other.account().equals(BETA) && other.eventId().equals(e.eventId())));
    HttpResponse<String> foreign = pipeline.event(betaManagementKey, acmeOnly.eventId());
    HttpResponse<String> unknown = pipeline.event(betaManagementKey, "evt-nobody-sent-this");
    assertEquals(404, foreign.statusCode());
    assertEquals(404, unknown.statusCode());
    assertEquals(unknown.body(), foreign.body());
    // Sent three times (twice in a retry): one answer, the event as sent.
    SentEvent retried = SENT.get(3);
    HttpResponse<String> once =
        pipeline.event(
            retried.account().equals(ACME) ? acmeManagementKey : betaManagementKey,
            retried.eventId());
    assertEquals(200, once.statusCode(), once.body());
    assertStoredAsSent(retried, JSON.readTree(once.body()).get("data"));
    // Keys as on the activity route.
    assertEquals(401, pipeline.event(null, acmeCopy.eventId()).statusCode());
    assertEquals(403, pipeline.event(ingestToken, acmeCopy.eventId()).statusCode());
    assertEquals(400, pipeline.event(acmeManagementKey, "e".repeat(129)).statusCode());
  }

  /** The first event {@code account} sent that {@code which} accepts. */
  private static SentEvent sentEvent(String account, Predicate<SentEvent> which) {
    return SENT.stream()
        .filter(e -> e.account().equals(account) && which.test(e))
        .findFirst()
        .orElseThrow(() -> new AssertionError("the fixture has no such event of " + account));
  }

  /** {@code data} is the stored form of {@code sent}: every field, exact, with the defaults. */
  private static void assertStoredAsSent(SentEvent sent, JsonNode data) {
    String id = sent.eventId();
    assertEquals(StoredEvent.FIELDS, fieldNames(data), id);
    assertEquals(id, data.get("event_id").asText());
    assertEquals(sent.account(), data.get("account_id").asText(), id);
    // Half the events were sent with the hash in upper case: stored lowercase.
    assertEquals(sent.apiKeyHash(), data.get("api_key_hash").asText(), id);
    if (sent.user() == null) {
      assertTrue(data.get("user").isNull(), id);
    } else {
      assertEquals(sent.user(), data.get("user").asText(), id);
    }
    assertEquals(sent.model(), data.get("model").asText(), id);
    assertEquals(sent.permaslug(), data.get("model_permaslug").asText(), id);
    assertEquals(sent.provider(), data.get("provider_name").asText(), id);
    assertEquals(sent.endpointId(), data.get("endpoint_id").asText(), id);
    String createdAt = data.get("created_at").asText();
    assertTrue(createdAt.matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{6}Z"), createdAt);
    assertEquals(sent.createdAt(), Instant.parse(createdAt), id);
    assertEquals(sent.promptTokens(), data.get("prompt_tokens").longValue(), id);
    assertEquals(sent.completionTokens(), data.get("completion_tokens").longValue(), id);
    assertEquals(sent.reasoningTokens(), data.get("reasoning_tokens").longValue(), id);
    assertEquals(sent.cachedTokens(), data.get("cached_tokens").longValue(), id);
    assertTrue(data.get("cost").isNumber(), id);
    assertEquals(0, sent.cost().compareTo(data.get("cost").decimalValue()), id);
    assertEquals(sent.byok(), data.get("is_byok").booleanValue(), id);
    assertEquals(0, sent.byokCost().compareTo(data.get("byok_cost").decimalValue()), id);
    assertTrue(data.get("app").isNull(), id);
    assertEquals(sent.workspace(), data.get("workspace_id").asText(), id);
    Instant receivedAt = Instant.parse(data.get("received_at").asText());
    assertFalse(receivedAt.isBefore(started.truncatedTo(ChronoUnit.MICROS)), id);
  }

  private static void assertActivity(
      String key,
      String query,
      String account,
      boolean byUser,
      boolean byKey,
      Predicate<SentEvent> filter)
      throws Exception {
    assertActivity(key, query, account, false, byUser, byKey, filter);
  }

  private static void assertActivity(
      String key,
      String query,
      String account,
      boolean byWorkspace,
      boolean byUser,
      boolean byKey,
      Predicate<SentEvent> filter)
      throws Exception {
    List<Map<String, Object>> expected =
        ExpectedActivity.of(SENT, account, today, byWorkspace, byUser, byKey, filter);
    JsonNode actual = get(key, query).get("data");
    assertFalse(expected.isEmpty(), "the fixture must produce items for " + query);
    ExpectedActivity.assertAnswer(expected, actual, query);
  }

  private static List<String> fieldNames(JsonNode node) {
    List<String> names = new ArrayList<>();
    node.fieldNames().forEachRemaining(names::add);
    return names;
  }

  private static SentEvent randomEvent(
      Random random, String eventId, String account, Instant createdAt) {
    String[][] endpoints = {
      {"openai/gpt-4o", "openai/gpt-4o-2024-08-06", "OpenAI"},
      {"anthropic/claude-sonnet-4", "anthropic/claude-sonnet-4", "Anthropic"}
    };
    String[] endpoint = endpoints[random.nextInt(endpoints.length)];
    String apiKey =
        account.equals(BETA) ? BETA_KEY : random.nextBoolean() ? ACME_KEY_1 : ACME_KEY_2;
    String[] users = {"user-1", "user-2", null, "ü'ser \\ 1"};
    String user = users[random.nextInt(users.length)];
    boolean byok = random.nextInt(5) == 0;
    BigDecimal cost =
        new BigDecimal(random.nextInt(1_000_000_000))
            .movePointLeft(12)
            .add(new BigDecimal(random.nextInt(3)));
    BigDecimal byokCost = byok ? new BigDecimal("0.000043022187") : BigDecimal.ZERO;
    // None and an explicit default are the same workspace.
    String[] workspaces =
        account.equals(BETA)
            ? new String[] {null, BETA_WS}
            : new String[] {null, Workspaces.DEFAULT, WS_PROD, WS_UUID, WS_PROD};
    String workspace = workspaces[random.nextInt(workspaces.length)];
    return new SentEvent(
        eventId,
        account,
        apiKey,
        user,
        endpoint[0],
        endpoint[1],
        endpoint[2],
        endpoint[2] + "/" + endpoint[1],
        createdAt,
        random.nextInt(5000),
        random.nextInt(2000),
        random.nextInt(3) == 0 ? random.nextInt(500) : 0,
        random.nextInt(100),
        cost,
        byok,
        byokCost,
        workspace);
  }

  private static SentEvent withAccount(SentEvent e, String account) {
    return new SentEvent(
        e.eventId(),
        account,
        account.equals(BETA) ? BETA_KEY : ACME_KEY_1,
        e.user(),
        e.model(),
        e.permaslug(),
        e.provider(),
        e.endpointId(),
        e.createdAt(),
        e.promptTokens(),
        e.completionTokens(),
        e.reasoningTokens(),
        e.cachedTokens(),
        e.cost(),
        e.byok(),
        e.byokCost(),
        account.equals(BETA) ? BETA_WS : e.workspaceId());
  }

  private static void postAll(List<SentEvent> events) throws Exception {
    HttpResponse<String> response = post(ingestToken, ExpectedActivity.requestBody(events));
    assertEquals(202, response.statusCode(), response.body());
    assertEquals(events.size(), JSON.readTree(response.body()).get("accepted").asInt());
  }

  private static HttpResponse<String> post(String token, String body)
      throws IOException, InterruptedException {
    return pipeline.post(token, body);
  }

  private static JsonNode get(String key, String query) throws Exception {
    HttpResponse<String> response = request(key, query);
    assertEquals(200, response.statusCode(), response.body());
    return JSON.readTree(response.body());
  }

  private static HttpResponse<String> request(String key, String query)
      throws IOException, InterruptedException {
    return pipeline.activity(key, query);
  }
}
