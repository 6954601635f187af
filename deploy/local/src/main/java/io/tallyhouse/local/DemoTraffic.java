package io.tallyhouse.local;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.tallyhouse.common.auth.Secrets;
import java.io.IOException;
import java.io.StringWriter;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Generated gateway traffic for {@code make run DEMO=1}: 30 completed days plus today, a few API
 * keys in three workspaces (one of them the default, whose events name no workspace), a dozen end
 * users (and anonymous requests), several endpoints with realistic prices, and some BYOK requests.
 * It goes through the real ingest API, so the demo exercises the whole pipeline.
 */
public final class DemoTraffic {

  private record Endpoint(
      String model,
      String permaslug,
      String provider,
      BigDecimal promptPricePerToken,
      BigDecimal completionPricePerToken) {}

  private static final List<Endpoint> ENDPOINTS =
      List.of(
          new Endpoint(
              "openai/gpt-4o",
              "openai/gpt-4o-2024-08-06",
              "OpenAI",
              new BigDecimal("0.0000025"),
              new BigDecimal("0.00001")),
          new Endpoint(
              "openai/gpt-4o-mini",
              "openai/gpt-4o-mini-2024-07-18",
              "OpenAI",
              new BigDecimal("0.00000015"),
              new BigDecimal("0.0000006")),
          new Endpoint(
              "anthropic/claude-sonnet-4",
              "anthropic/claude-4-sonnet-20250522",
              "Anthropic",
              new BigDecimal("0.000003"),
              new BigDecimal("0.000015")),
          new Endpoint(
              "google/gemini-2.5-flash",
              "google/gemini-2.5-flash",
              "Google",
              new BigDecimal("0.0000003"),
              new BigDecimal("0.0000025")),
          new Endpoint(
              "meta-llama/llama-3.3-70b-instruct",
              "meta-llama/llama-3.3-70b-instruct",
              "DeepInfra",
              new BigDecimal("0.00000023"),
              new BigDecimal("0.0000004")));

  /**
   * An API key of the demo account and the workspace it belongs to; null: the key's events send no
   * workspace_id (the workspace default).
   */
  private record Key(String hash, String workspaceId) {}

  private static final List<Key> KEYS =
      List.of(
          new Key(Secrets.sha256Hex("demo-key-prod"), "production"),
          new Key(Secrets.sha256Hex("demo-key-staging"), "staging"),
          new Key(Secrets.sha256Hex("demo-key-batch-jobs"), null));

  private final URI eventsUri;
  private final String ingestToken;
  private final String account;
  private final Clock clock;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final JsonFactory json = new JsonFactory();

  public DemoTraffic(String ingestBaseUrl, String ingestToken, String account, Clock clock) {
    this.eventsUri = URI.create(ingestBaseUrl + "/v1/events");
    this.ingestToken = ingestToken;
    this.account = account;
    this.clock = clock;
  }

  /**
   * Posts the traffic of the last 30 completed days and of today so far, in batches of 500; returns
   * the number of events accepted. Running it again (a later {@code make run DEMO=1} on kept data)
   * posts the same events again, which the pipeline counts once, plus those of the days and hours
   * that have passed since.
   */
  public int load(int eventsPerDay) throws IOException, InterruptedException {
    LocalDate today = LocalDate.now(clock.withZone(ZoneOffset.UTC));
    // An event of the last second might be refused as in the future by a clock a little behind.
    Instant before = clock.instant().minusSeconds(1);
    List<String> batch = new ArrayList<>();
    int accepted = 0;
    for (int daysAgo = 30; daysAgo >= 0; daysAgo--) {
      for (String event : eventsOf(today.minusDays(daysAgo), eventsPerDay, before)) {
        batch.add(event);
        if (batch.size() == 500) {
          accepted += post(batch);
          batch.clear();
        }
      }
    }
    if (!batch.isEmpty()) {
      accepted += post(batch);
    }
    return accepted;
  }

  /**
   * The demo events of {@code day} created before {@code before}, as JSON. They depend on the day
   * alone, not on when they are generated (event ids {@code demo-<day>-<n>}), so the same event is
   * always the same copy.
   */
  List<String> eventsOf(LocalDate day, int eventsPerDay, Instant before) throws IOException {
    Random random = new Random(day.toEpochDay());
    // Weekdays are busier, and each day varies a little.
    int weekday = day.getDayOfWeek().getValue();
    int count =
        (int) (eventsPerDay * (weekday >= 6 ? 0.5 : 1.0) * (0.7 + 0.6 * random.nextDouble()));
    Instant dayStart = day.atStartOfDay(ZoneOffset.UTC).toInstant();
    List<String> events = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      Instant createdAt = dayStart.plusMillis((long) (random.nextDouble() * 86_400_000L));
      // Generated before the cut is applied, so each event draws the same numbers every time.
      String event = event(random, "demo-" + day + "-" + i, createdAt);
      if (createdAt.isBefore(before)) {
        events.add(event);
      }
    }
    return events;
  }

  private String event(Random random, String eventId, Instant createdAt) throws IOException {
    // A few heavy users dominate, as in real gateways.
    Endpoint endpoint =
        ENDPOINTS.get(
            Math.min(
                ENDPOINTS.size() - 1, (int) Math.floor(-Math.log(1 - random.nextDouble()) * 1.3)));
    int userIndex = (int) Math.floor(-Math.log(1 - random.nextDouble()) * 3);
    String user = userIndex >= 12 ? null : "user-" + (userIndex + 1);
    long promptTokens = 50 + random.nextInt(4000);
    long completionTokens = 10 + random.nextInt(1200);
    long reasoningTokens =
        endpoint.provider().equals("OpenAI") && random.nextInt(4) == 0 ? random.nextInt(800) : 0;
    long cachedTokens = random.nextInt(3) == 0 ? promptTokens / 2 : 0;
    BigDecimal cost =
        endpoint
            .promptPricePerToken()
            .multiply(BigDecimal.valueOf(promptTokens))
            .add(
                endpoint
                    .completionPricePerToken()
                    .multiply(BigDecimal.valueOf(completionTokens + reasoningTokens)))
            .setScale(12, RoundingMode.HALF_EVEN);
    boolean byok = random.nextInt(10) == 0;

    StringWriter out = new StringWriter();
    try (JsonGenerator g = json.createGenerator(out)) {
      g.writeStartObject();
      g.writeStringField("event_id", eventId);
      g.writeStringField("account_id", account);
      Key key = KEYS.get(random.nextInt(KEYS.size()));
      g.writeStringField("api_key_hash", key.hash());
      if (key.workspaceId() != null) {
        g.writeStringField("workspace_id", key.workspaceId());
      }
      if (user != null) {
        g.writeStringField("user", user);
      }
      g.writeStringField("model", endpoint.model());
      g.writeStringField("model_permaslug", endpoint.permaslug());
      g.writeStringField("provider_name", endpoint.provider());
      g.writeStringField("created_at", createdAt.truncatedTo(ChronoUnit.MILLIS).toString());
      g.writeNumberField("prompt_tokens", promptTokens);
      g.writeNumberField("completion_tokens", completionTokens);
      g.writeNumberField("reasoning_tokens", reasoningTokens);
      g.writeNumberField("cached_tokens", cachedTokens);
      g.writeFieldName("cost");
      g.writeNumber(byok ? "0" : cost.stripTrailingZeros().toPlainString());
      g.writeBooleanField("is_byok", byok);
      if (byok) {
        g.writeFieldName("byok_cost");
        g.writeNumber(cost.stripTrailingZeros().toPlainString());
      }
      g.writeStringField("app", random.nextBoolean() ? "https://chat.example.com" : "cli");
      g.writeEndObject();
    }
    return out.toString();
  }

  private int post(List<String> events) throws IOException, InterruptedException {
    HttpRequest request =
        HttpRequest.newBuilder(eventsUri)
            .timeout(Duration.ofSeconds(30))
            .header("Authorization", "Bearer " + ingestToken)
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString("[" + String.join(",", events) + "]"))
            .build();
    HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
    if (response.statusCode() != 202) {
      throw new IOException(
          "ingest refused the demo batch: HTTP " + response.statusCode() + " " + response.body());
    }
    return events.size();
  }
}
