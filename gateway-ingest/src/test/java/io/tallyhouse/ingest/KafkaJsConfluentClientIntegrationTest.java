package io.tallyhouse.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tallyhouse.ingest.validation.EventJson;
import io.tallyhouse.schemas.avro.UsageEvent;
import io.tallyhouse.schemas.registry.RegistryConfig;
import io.tallyhouse.schemas.registry.SchemaRegistryClient;
import io.tallyhouse.schemas.serde.UsageEventSerde;
import io.tallyhouse.testkit.Infra;
import io.tallyhouse.testkit.NodeScripts;
import java.math.BigDecimal;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What gateway-ingest writes is what a Confluent-ecosystem client reads: kafkajs (with an LZ4 codec
 * plugged in, since the producer compresses with lz4) consumes the events topic from the beginning
 * and {@code @kafkajs/confluent-schema-registry} decodes every record through the registry's
 * Confluent API (magic byte, schema id, schema by id). Every posted event must come back once, with
 * every field as sent or as the contract defaults it.
 */
class KafkaJsConfluentClientIntegrationTest {

  private static final String WORKSPACE = "0b9f3c1e-6a51-4c8e-9f3d-2a7b5e4c1d10";
  private static final int BATCH = 40;

  private static IngestHarness harness;
  private static IngestServer server;

  /** What the test posted, by record key: the decoded event it expects, without the instants. */
  private static final Map<String, ObjectNode> expected = new LinkedHashMap<>();

  private static final Map<String, Instant> createdAt = new HashMap<>();

  /** By record key, what kafkajs printed. */
  private static final Map<String, JsonNode> decoded = new LinkedHashMap<>();

  /** By record key, received_at as the project's own deserializer reads it. */
  private static final Map<String, Instant> receivedAt = new HashMap<>();

  private static Instant firstPost;
  private static Instant lastAnswer;

  @BeforeAll
  static void postThenReadWithKafkaJs(@TempDir Path dir) throws Exception {
    harness = new IngestHarness(dir);
    String bootstrap = Infra.kafka().bootstrapServers();
    server =
        IngestServer.start(
            IngestHarness.config(harness.env(bootstrap, "1048576")), Clock.systemUTC());
    firstPost = Instant.now().truncatedTo(ChronoUnit.MICROS);
    post(fullEvent());
    post(minimalEvent());
    // One request of many events: the producer sends them as lz4-compressed batches of several
    // records.
    ArrayNode batch = EventJson.MAPPER.createArrayNode();
    for (int i = 0; i < BATCH; i++) {
      batch.add(batchEvent(i));
    }
    post(batch);
    lastAnswer = Instant.now();

    NodeScripts.Result run = readWithKafkaJs("lz4-napi");
    assertEquals(0, run.exitCode(), run.describe());
    for (String line : run.lines()) {
      JsonNode record = EventJson.MAPPER.readTree(line);
      JsonNode previous = decoded.put(record.path("key").asText(), record);
      assertEquals(null, previous, "one record per event: " + line);
    }

    SchemaRegistryClient registry =
        new SchemaRegistryClient(new RegistryConfig(Infra.registry().url()));
    for (ConsumerRecord<String, byte[]> record : harness.readTopic(bootstrap, expected.size())) {
      UsageEvent event =
          UsageEventSerde.deserializer(registry).deserialize(harness.topic, record.value());
      receivedAt.put(record.key(), event.getReceivedAt());
    }
  }

  /** The script's read of every record posted, with {@code lz4Codec} (lz4-napi or none). */
  private static NodeScripts.Result readWithKafkaJs(String lz4Codec) {
    return NodeScripts.run(
        "kafkajs-events.mjs",
        Map.of(
            "KAFKA_BROKERS",
            Infra.kafka().bootstrapServers(),
            "EVENTS_TOPIC",
            harness.topic,
            "SCHEMA_REGISTRY_URL",
            Infra.registry().url(),
            "EXPECTED_RECORDS",
            Integer.toString(expected.size()),
            "TIMEOUT_MS",
            "90000",
            "LZ4_CODEC",
            lz4Codec),
        Duration.ofMinutes(3));
  }

  @AfterAll
  static void stop() {
    if (server != null) {
      server.close();
    }
  }

  // ---- what is posted, and what a Confluent client must read back
  // -------------------------------

  private static void post(JsonNode body) throws Exception {
    HttpResponse<String> answer = harness.post(server.port(), body.toString());
    assertEquals(202, answer.statusCode(), answer.body());
  }

  /** A created_at with microseconds, a minute ago. */
  private static String created(String key) {
    Instant at = Instant.now().minusSeconds(60).truncatedTo(ChronoUnit.MICROS).plusNanos(123_000);
    createdAt.put(key, at);
    return at.toString();
  }

  /**
   * Every field given, money as a JSON number and as a string (both forms the contract accepts).
   */
  private static ObjectNode fullEvent() {
    String id = UUID.randomUUID().toString();
    String key = "acme/" + id;
    ObjectNode event = required(key, id, "acme", "AB".repeat(32), "openai/gpt-4o", "OpenAI");
    event.put("user", "zoë 🐱");
    event.put("model_permaslug", "openai/gpt-4o-2024-08-06");
    event.put("endpoint_id", "OpenAI/eu-deployment");
    event.put("prompt_tokens", 1200);
    event.put("completion_tokens", 340);
    event.put("reasoning_tokens", 56);
    event.put("cached_tokens", 78);
    event.put("cost", new BigDecimal("0.000043022187"));
    event.put("is_byok", true);
    event.put("byok_cost", "999999999.999999999999");
    event.put("app", "https://app.example/chat?x=1");
    event.put("workspace_id", WORKSPACE);

    ObjectNode decoded = event.deepCopy();
    decoded.remove("created_at");
    decoded.put("api_key_hash", "ab".repeat(32));
    decoded.put("cost", "0.000043022187");
    expected.put(key, decoded);
    return event;
  }

  /** Only the required fields: the decoded record carries the contract's defaults. */
  private static ObjectNode minimalEvent() {
    String id = UUID.randomUUID().toString();
    String key = "beta.corp:eu-1/" + id;
    ObjectNode event =
        required(
            key, id, "beta.corp:eu-1", "cd".repeat(32), "anthropic/claude-sonnet-4", "Anthropic");
    event.put("cost", 0);
    expected.put(key, defaults(event, "0.000000000000"));
    return event;
  }

  /** Amounts that only a decimal keeps: i thousandths plus 10^-12. */
  private static ObjectNode batchEvent(int i) {
    String id = "batch-" + i + "-" + UUID.randomUUID();
    String key = "acme/" + id;
    BigDecimal cost = BigDecimal.valueOf(i, 3).add(new BigDecimal("0.000000000001"));
    ObjectNode event = required(key, id, "acme", "ef".repeat(32), "x/model-" + (i % 3), "X");
    event.put("cost", cost.toPlainString());
    event.put("user", "user-" + (i % 5));
    expected.put(key, defaults(event, cost.setScale(12).toPlainString()));
    return event;
  }

  /**
   * An event with the required fields but cost, created a minute ago (remembered under {@code
   * key}).
   */
  private static ObjectNode required(
      String key, String id, String account, String apiKeyHash, String model, String provider) {
    ObjectNode event = EventJson.MAPPER.createObjectNode();
    event.put("event_id", id);
    event.put("account_id", account);
    event.put("api_key_hash", apiKeyHash);
    event.put("model", model);
    event.put("provider_name", provider);
    event.put("created_at", created(key));
    return event;
  }

  private static ObjectNode defaults(ObjectNode sent, String cost) {
    ObjectNode decoded = sent.deepCopy();
    decoded.remove("created_at");
    String model = sent.path("model").asText();
    decoded.put("model_permaslug", model);
    decoded.put("endpoint_id", sent.path("provider_name").asText() + "/" + model);
    if (!sent.has("user")) {
      decoded.putNull("user");
    }
    decoded.put("prompt_tokens", 0);
    decoded.put("completion_tokens", 0);
    decoded.put("reasoning_tokens", 0);
    decoded.put("cached_tokens", 0);
    decoded.put("cost", cost);
    decoded.put("is_byok", false);
    decoded.put("byok_cost", "0.000000000000");
    decoded.putNull("app");
    decoded.put("workspace_id", "default");
    return decoded;
  }

  // ---- the tests
  // ----------------------------------------------------------------------------------

  @Test
  void everyPostedEventIsReadOnceAndNothingElse() {
    assertEquals(expected.keySet(), decoded.keySet());
    assertEquals(expected.keySet(), receivedAt.keySet());
  }

  @Test
  void everyFieldDecodesExactly() {
    for (Map.Entry<String, ObjectNode> want : expected.entrySet()) {
      ObjectNode got = (ObjectNode) decoded.get(want.getKey()).path("event").deepCopy();
      got.remove(List.of("created_at", "received_at"));
      ObjectNode sameWorkspace = want.getValue().deepCopy();
      // The workspace has its own test, which needs gateway-ingest to carry it.
      sameWorkspace.set("workspace_id", got.get("workspace_id"));
      assertEquals(sameWorkspace, got, want.getKey());
    }
  }

  @Test
  void moneyIsTheExactDecimalStringAtScale12() {
    JsonNode full = event(expected.keySet().iterator().next());
    assertEquals("0.000043022187", full.path("cost").asText());
    assertEquals("999999999.999999999999", full.path("byok_cost").asText());
    for (Map.Entry<String, ObjectNode> want : expected.entrySet()) {
      String cost = event(want.getKey()).path("cost").asText();
      assertTrue(cost.matches("\\d+\\.\\d{12}"), want.getKey() + ": " + cost);
    }
  }

  @Test
  void instantsKeepTheirMicroseconds() {
    for (String key : expected.keySet()) {
      JsonNode event = event(key);
      assertEquals(createdAt.get(key), Instant.parse(event.path("created_at").asText()), key);
      Instant received = Instant.parse(event.path("received_at").asText());
      assertEquals(receivedAt.get(key), received, key + ": as the Java deserializer reads it");
      assertFalse(received.isBefore(firstPost), key + ": received " + received);
      assertFalse(received.isAfter(lastAnswer), key + ": received " + received);
    }
  }

  @Test
  void workspaceIdAsSentOrDefault() {
    for (Map.Entry<String, ObjectNode> want : expected.entrySet()) {
      assertEquals(
          want.getValue().path("workspace_id").asText(),
          event(want.getKey()).path("workspace_id").asText(),
          want.getKey());
    }
  }

  @Test
  void theTopicHoldsLz4BatchesThatKafkaJsReadsOnlyWithTheCodec() {
    NodeScripts.Result run = readWithKafkaJs("none");
    assertEquals(1, run.exitCode(), run.describe());
    assertTrue(run.stderr().contains("LZ4 compression not implemented"), run.describe());
    assertEquals(List.of(), run.lines(), "nothing decoded without the codec");
  }

  private static JsonNode event(String key) {
    JsonNode record = decoded.get(key);
    assertTrue(record != null, "no record for " + key);
    return record.path("event");
  }
}
