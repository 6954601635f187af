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
 * (dedup, rollup, exactly once) -> ClickHouse -> activity API, compared with answers computed
 * independently from the events sent.
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

  private static Pipeline pipeline;
  private static LocalDate today;
  private static final List<SentEvent> SENT = new ArrayList<>();
  private static String acmeManagementKey;
  private static String betaManagementKey;
  private static String ingestToken;

  @BeforeAll
  static void sendTrafficAndWaitForIt() throws Exception {
    Instant now = Instant.now();
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

  private static void assertActivity(
      String key,
      String query,
      String account,
      boolean byUser,
      boolean byKey,
      Predicate<SentEvent> filter)
      throws Exception {
    List<Map<String, Object>> expected =
        ExpectedActivity.of(SENT, account, today, byUser, byKey, filter);
    JsonNode actual = get(key, query).get("data");
    assertFalse(expected.isEmpty(), "the fixture must produce items for " + query);
    ExpectedActivity.assertAnswer(expected, actual, query);
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
        byokCost);
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
        e.byokCost());
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
