package io.tallyhouse.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import io.tallyhouse.common.auth.CredentialKind;
import io.tallyhouse.common.auth.CredentialStore;
import io.tallyhouse.common.auth.Secrets;
import io.tallyhouse.schemas.avro.UsageEvent;
import io.tallyhouse.schemas.registry.RegistryConfig;
import io.tallyhouse.schemas.registry.SchemaRegistryClient;
import io.tallyhouse.schemas.serde.UsageEventSerde;
import io.tallyhouse.testkit.Infra;
import io.tallyhouse.testkit.LocalKafka;
import io.tallyhouse.testkit.Ports;
import java.io.ByteArrayOutputStream;
import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.zip.GZIPOutputStream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** POST /v1/events against the real broker and registry: what gets 202 is on the topic, nothing else is. */
class IngestServerIntegrationTest {

  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final String TOPIC = "ingest-it-" + UUID.randomUUID();
  private static IngestServer server;
  private static CredentialStore keys;
  private static String token;
  private static final List<String> acceptedKeys = new ArrayList<>();

  @BeforeAll
  static void start(@TempDir Path dir) {
    keys = new CredentialStore(dir.resolve("keys.jsonl"));
    token = Secrets.generate(CredentialKind.INGEST.secretPrefix());
    keys.add(token, CredentialKind.INGEST, null, List.of(), "test");
    server = IngestServer.start(IngestConfig.fromEnv(env(Infra.kafka().bootstrapServers(), dir, "65536")),
        Clock.systemUTC());
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  static Map<String, String> env(String bootstrap, Path dir, String maxBody) {
    Map<String, String> env = new HashMap<>();
    env.put("HTTP_PORT", "0");
    env.put("KAFKA_BOOTSTRAP_SERVERS", bootstrap);
    env.put("SCHEMA_REGISTRY_URL", Infra.registry().url());
    env.put("EVENTS_TOPIC", TOPIC);
    env.put("EVENTS_PARTITIONS", "3");
    env.put("KEYS_FILE", dir.resolve("keys.jsonl").toString());
    env.put("MAX_BODY_BYTES", maxBody);
    env.put("PUBLISH_TIMEOUT_MS", "3000");
    return env;
  }

  static String event(String eventId, String account) {
    return EventValidatorTest.valid()
        .put("event_id", eventId)
        .put("account_id", account)
        .put("created_at", Instant.now().minusSeconds(60).toString())
        .put("user", "zoë")
        .toString()
        .replace("\"cost\":0.000123", "\"cost\":4.3022187e-05");
  }

  static HttpResponse<String> post(int port, String auth, String contentType, byte[] body, boolean gzip)
      throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/events"))
        .POST(HttpRequest.BodyPublishers.ofByteArray(body));
    if (auth != null) {
      request.header("Authorization", "Bearer " + auth);
    }
    if (contentType != null) {
      request.header("Content-Type", contentType);
    }
    if (gzip) {
      request.header("Content-Encoding", "gzip");
    }
    return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  static HttpResponse<String> post(int port, String auth, String json) throws Exception {
    return post(port, auth, "application/json", json.getBytes(StandardCharsets.UTF_8), false);
  }

  @Test
  void acceptedEventsAreOnTheTopicExactlyAndNothingElse() throws Exception {
    String id = UUID.randomUUID().toString();
    HttpResponse<String> single = post(server.port(), token, event(id, "acme"));
    assertEquals(202, single.statusCode(), single.body());
    assertEquals("{\"accepted\":1}", single.body());
    acceptedKeys.add("acme/" + id);

    String a = UUID.randomUUID().toString();
    String b = UUID.randomUUID().toString();
    HttpResponse<String> batch = post(server.port(), token, "[" + event(a, "acme") + "," + event(b, "beta.corp:eu-1")
        + "," + event(a, "acme") + "]");
    assertEquals(202, batch.statusCode(), batch.body());
    assertEquals("{\"accepted\":3}", batch.body());
    acceptedKeys.addAll(List.of("acme/" + a, "beta.corp:eu-1/" + b, "acme/" + a));

    // One bad event: 400 naming index and field, and none of the good ones are written.
    String bad = event("bad", "acme").replace("\"cost\":4.3022187e-05", "\"cost\":-1");
    HttpResponse<String> refused = post(server.port(), token, "[" + event(UUID.randomUUID().toString(), "acme") + ","
        + bad + "]");
    assertEquals(400, refused.statusCode());
    JsonNode errors = IngestServer.JSON.readTree(refused.body()).path("error").path("metadata").path("errors");
    assertEquals(1, errors.size(), refused.body());
    assertEquals(1, errors.get(0).path("index").asInt());
    assertEquals("cost", errors.get(0).path("field").asText());

    // gzip is decoded
    String g = UUID.randomUUID().toString();
    ByteArrayOutputStream zipped = new ByteArrayOutputStream();
    try (GZIPOutputStream out = new GZIPOutputStream(zipped)) {
      out.write(event(g, "acme").getBytes(StandardCharsets.UTF_8));
    }
    HttpResponse<String> gzipped = post(server.port(), token, "application/json; charset=utf-8", zipped.toByteArray(), true);
    assertEquals(202, gzipped.statusCode(), gzipped.body());
    acceptedKeys.add("acme/" + g);

    List<ConsumerRecord<String, byte[]>> records = readTopic(acceptedKeys.size());
    assertEquals(acceptedKeys.stream().sorted().toList(), records.stream().map(ConsumerRecord::key).sorted().toList());
    SchemaRegistryClient registry = new SchemaRegistryClient(new RegistryConfig(Infra.registry().url()));
    for (ConsumerRecord<String, byte[]> record : records) {
      UsageEvent decoded = UsageEventSerde.deserializer(registry).deserialize(TOPIC, record.value());
      assertEquals(decoded.getAccountId() + "/" + decoded.getEventId(), record.key());
      assertEquals(new BigDecimal("0.000043022187"), decoded.getCost());
      assertEquals("zoë", decoded.getUser());
      assertEquals(decoded.getCreatedAt().toEpochMilli(), record.timestamp());
    }
  }

  @Test
  void authAndMediaTypeErrors() throws Exception {
    String body = event("x", "acme");
    assertEquals(401, post(server.port(), null, body).statusCode());
    assertEquals(401, post(server.port(), "th_it_unknown", body).statusCode());
    String management = Secrets.generate(CredentialKind.MANAGEMENT.secretPrefix());
    keys.add(management, CredentialKind.MANAGEMENT, "acme", List.of(), "test");
    HttpResponse<String> forbidden = post(server.port(), management, body);
    assertEquals(403, forbidden.statusCode());
    assertEquals(403, IngestServer.JSON.readTree(forbidden.body()).path("error").path("code").asInt());
    assertEquals(415, post(server.port(), token, "text/plain", body.getBytes(StandardCharsets.UTF_8), false).statusCode());
    HttpResponse<String> malformed = post(server.port(), token, "{\"event_id\":");
    assertEquals(400, malformed.statusCode());
    assertTrue(malformed.body().contains("Malformed JSON"), malformed.body());
    HttpResponse<String> tooLarge = post(server.port(), token, "[" + (event("y", "acme") + ",").repeat(400) + "1]");
    assertEquals(413, tooLarge.statusCode(), tooLarge.body());
  }

  @Test
  void tokenRestrictedToAccountsRefusesOthers() throws Exception {
    String restricted = Secrets.generate(CredentialKind.INGEST.secretPrefix());
    keys.add(restricted, CredentialKind.INGEST, null, List.of("acme"), "acme only");
    HttpResponse<String> response = post(server.port(), restricted, "[" + event("r1", "acme") + ","
        + event("r2", "beta") + "]");
    assertEquals(403, response.statusCode());
    assertTrue(response.body().contains("beta"), response.body());
  }

  @Test
  void brokerDownGives503WithRetryAfterThenRecovers(@TempDir Path dir) throws Exception {
    LocalKafka kafka = LocalKafka.start(dir.resolve("kafka"), Ports.freePort(), Ports.freePort());
    Files.writeString(dir.resolve("keys.jsonl"), Files.readString(keys.file()));
    IngestServer isolated = IngestServer.start(IngestConfig.fromEnv(env(kafka.bootstrapServers(), dir, "65536")),
        Clock.systemUTC());
    try {
      assertEquals(202, post(isolated.port(), token, event("before", "acme")).statusCode());
      kafka.stop();
      HttpResponse<String> down = post(isolated.port(), token, event("during", "acme"));
      assertEquals(503, down.statusCode(), down.body());
      assertEquals("1", down.headers().firstValue("Retry-After").orElse(""));
      kafka.restart();
      HttpResponse<String> back = post(isolated.port(), token, event("after", "acme"));
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (back.statusCode() != 202 && System.nanoTime() < deadline) {
        back = post(isolated.port(), token, event("after", "acme"));
      }
      assertEquals(202, back.statusCode(), back.body());
    } finally {
      isolated.close();
      kafka.stop();
    }
  }

  private static List<ConsumerRecord<String, byte[]>> readTopic(int atLeast) {
    Map<String, Object> props = Map.of("bootstrap.servers", Infra.kafka().bootstrapServers(),
        "group.id", "reader-" + UUID.randomUUID(), "auto.offset.reset", "earliest", "isolation.level", "read_committed");
    List<ConsumerRecord<String, byte[]>> out = new ArrayList<>();
    try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(props, new StringDeserializer(),
        new org.apache.kafka.common.serialization.ByteArrayDeserializer())) {
      consumer.subscribe(List.of(TOPIC));
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      // Read until we have what we expect and then a little longer, so an extra record would be caught too.
      long quietUntil = Long.MAX_VALUE;
      while (System.nanoTime() < Math.min(deadline, quietUntil)) {
        consumer.poll(Duration.ofMillis(200)).forEach(out::add);
        if (out.size() >= atLeast && quietUntil == Long.MAX_VALUE) {
          quietUntil = System.nanoTime() + Duration.ofSeconds(2).toNanos();
        }
      }
    }
    return out;
  }
}
