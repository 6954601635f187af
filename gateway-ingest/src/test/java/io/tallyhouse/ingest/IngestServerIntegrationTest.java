package io.tallyhouse.ingest;

import static io.tallyhouse.ingest.IngestHarness.event;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import io.tallyhouse.common.auth.CredentialKind;
import io.tallyhouse.common.auth.CredentialStore;
import io.tallyhouse.common.auth.Secrets;
import io.tallyhouse.ingest.validation.EventJson;
import io.tallyhouse.schemas.avro.UsageEvent;
import io.tallyhouse.schemas.contract.Workspaces;
import io.tallyhouse.schemas.registry.RegistryConfig;
import io.tallyhouse.schemas.registry.SchemaRegistryClient;
import io.tallyhouse.schemas.registry.SchemaRegistryException;
import io.tallyhouse.schemas.serde.UsageEventSerde;
import io.tallyhouse.testkit.Infra;
import io.tallyhouse.testkit.LocalKafka;
import io.tallyhouse.testkit.Ports;
import java.io.ByteArrayOutputStream;
import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.zip.GZIPOutputStream;
import org.apache.avro.Schema;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * POST /v1/events against the real broker and registry: what gets 202 is on the topic, nothing else
 * is.
 */
class IngestServerIntegrationTest {

  private static IngestHarness harness;
  private static IngestServer server;
  private static CredentialStore keys;
  private static String token;
  private static final List<String> acceptedKeys = new ArrayList<>();

  @BeforeAll
  static void start(@TempDir Path dir) {
    harness = new IngestHarness(dir);
    keys = harness.keys;
    token = harness.token;
    server =
        IngestServer.start(
            IngestHarness.config(harness.env(Infra.kafka().bootstrapServers(), "65536")),
            Clock.systemUTC());
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  @Test
  void acceptedEventsAreOnTheTopicExactlyAndNothingElse() throws Exception {
    long firstPost = System.currentTimeMillis();
    String id = UUID.randomUUID().toString();
    HttpResponse<String> single = harness.post(server.port(), event(id, "acme"));
    assertEquals(202, single.statusCode(), single.body());
    assertEquals("{\"accepted\":1}", single.body());
    acceptedKeys.add("acme/" + id);

    String a = UUID.randomUUID().toString();
    String b = UUID.randomUUID().toString();
    HttpResponse<String> batch =
        harness.post(
            server.port(),
            "["
                + event(a, "acme")
                + ","
                + event(b, "beta.corp:eu-1")
                + ","
                + event(a, "acme")
                + "]");
    assertEquals(202, batch.statusCode(), batch.body());
    assertEquals("{\"accepted\":3}", batch.body());
    acceptedKeys.addAll(List.of("acme/" + a, "beta.corp:eu-1/" + b, "acme/" + a));

    // One bad event: 400 naming index and field, and none of the good ones are written.
    String bad = event("bad", "acme").replace("\"cost\":4.3022187e-05", "\"cost\":-1");
    String aboveBound =
        event("above", "acme").replace("}", ",\"byok_cost\":\"1000000000.000000000001\"}");
    HttpResponse<String> refused =
        harness.post(
            server.port(),
            "[" + event(UUID.randomUUID().toString(), "acme") + "," + bad + "," + aboveBound + "]");
    assertEquals(400, refused.statusCode());
    JsonNode errors =
        EventJson.MAPPER.readTree(refused.body()).path("error").path("metadata").path("errors");
    assertEquals(2, errors.size(), refused.body());
    assertEquals(1, errors.get(0).path("index").asInt());
    assertEquals("cost", errors.get(0).path("field").asText());
    assertEquals(2, errors.get(1).path("index").asInt());
    assertEquals("byok_cost", errors.get(1).path("field").asText());
    assertEquals("must be at most 10^9 (1000000000)", errors.get(1).path("message").asText());

    // gzip is decoded
    String g = UUID.randomUUID().toString();
    ByteArrayOutputStream zipped = new ByteArrayOutputStream();
    try (GZIPOutputStream out = new GZIPOutputStream(zipped)) {
      out.write(event(g, "acme").getBytes(StandardCharsets.UTF_8));
    }
    HttpResponse<String> gzipped =
        IngestHarness.post(
            server.port(), token, "application/json; charset=utf-8", zipped.toByteArray(), true);
    assertEquals(202, gzipped.statusCode(), gzipped.body());
    acceptedKeys.add("acme/" + g);

    List<ConsumerRecord<String, byte[]>> records =
        harness.readTopic(Infra.kafka().bootstrapServers(), acceptedKeys.size());
    assertEquals(
        acceptedKeys.stream().sorted().toList(),
        records.stream().map(ConsumerRecord::key).sorted().toList());
    SchemaRegistryClient registry =
        new SchemaRegistryClient(new RegistryConfig(Infra.registry().url()));
    for (ConsumerRecord<String, byte[]> record : records) {
      UsageEvent decoded =
          UsageEventSerde.deserializer(registry).deserialize(harness.topic, record.value());
      assertEquals(decoded.getAccountId() + "/" + decoded.getEventId(), record.key());
      assertEquals(new BigDecimal("0.000043022187"), decoded.getCost());
      assertEquals("zoë", decoded.getUser());
      // Stamped by the broker when written, whatever the event's created_at: retention counts from
      // acceptance.
      assertEquals(
          org.apache.kafka.common.record.TimestampType.LOG_APPEND_TIME, record.timestampType());
      assertTrue(record.timestamp() >= firstPost, "append time, not the event's time");
    }
  }

  @Test
  void eventsCarryTheirWorkspaceOrTheDefaultOneOnTheTopic(@TempDir Path dir) throws Exception {
    // A topic of its own: the test above reads its topic for exactly its own records.
    IngestHarness isolated = new IngestHarness(dir);
    IngestServer ingest =
        IngestServer.start(
            IngestHarness.config(isolated.env(Infra.kafka().bootstrapServers(), "65536")),
            Clock.systemUTC());
    try {
      String uuid = "0b8f6f4e-2f2c-4c1a-9d55-3c1d8e0a7b21";
      HttpResponse<String> accepted =
          isolated.post(
              ingest.port(),
              "["
                  + event("in-uuid", "acme").replace("}", ",\"workspace_id\":\"" + uuid + "\"}")
                  + ","
                  + event("in-ops", "acme").replace("}", ",\"workspace_id\":\"ops.eu:1\"}")
                  + ","
                  + event("absent", "acme")
                  + ","
                  + event("null", "acme").replace("}", ",\"workspace_id\":null}")
                  + "]");
      assertEquals(202, accepted.statusCode(), accepted.body());

      // All or nothing: one event with a broken workspace_id and nothing of the request is written.
      HttpResponse<String> refused =
          isolated.post(
              ingest.port(),
              "["
                  + event("good", "acme")
                  + ","
                  + event("slash", "acme").replace("}", ",\"workspace_id\":\"team/a\"}")
                  + ","
                  + event("number", "acme").replace("}", ",\"workspace_id\":7}")
                  + "]");
      assertEquals(400, refused.statusCode(), refused.body());
      JsonNode errors =
          EventJson.MAPPER.readTree(refused.body()).path("error").path("metadata").path("errors");
      assertEquals(2, errors.size(), refused.body());
      for (int i = 0; i < 2; i++) {
        assertEquals(i + 1, errors.get(i).path("index").asInt(), refused.body());
        assertEquals("workspace_id", errors.get(i).path("field").asText(), refused.body());
      }

      SchemaRegistryClient registry =
          new SchemaRegistryClient(new RegistryConfig(Infra.registry().url()));
      Map<String, String> workspaces = new TreeMap<>();
      for (ConsumerRecord<String, byte[]> record :
          isolated.readTopic(Infra.kafka().bootstrapServers(), 4)) {
        UsageEvent decoded =
            UsageEventSerde.deserializer(registry).deserialize(isolated.topic, record.value());
        workspaces.put(decoded.getEventId(), decoded.getWorkspaceId());
      }
      assertEquals(
          Map.of(
              "in-uuid",
              uuid,
              "in-ops",
              "ops.eu:1",
              "absent",
              Workspaces.DEFAULT,
              "null",
              Workspaces.DEFAULT),
          workspaces);
    } finally {
      ingest.close();
    }
  }

  @Test
  void theEventsSubjectItselfCarriesBackwardCompatibilityAndRefusesAnIncompatibleSchema()
      throws Exception {
    String subject = harness.topic + "-value";
    // What a Confluent client reads: the subject's own level, not the registry's global default.
    HttpResponse<String> config =
        IngestHarness.HTTP.send(
            HttpRequest.newBuilder(URI.create(Infra.registry().url() + "/config/" + subject))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(200, config.statusCode(), config.body());
    assertEquals(
        "BACKWARD",
        EventJson.MAPPER.readTree(config.body()).path("compatibilityLevel").asText(),
        config.body());

    // A new field without a default: a reader of the new schema could not read the events already
    // on the topic.
    var schema =
        (com.fasterxml.jackson.databind.node.ObjectNode)
            EventJson.MAPPER.readTree(UsageEvent.getClassSchema().toString());
    ((ArrayNode) schema.get("fields")).addObject().put("name", "region").put("type", "string");
    SchemaRegistryClient registry =
        new SchemaRegistryClient(new RegistryConfig(Infra.registry().url()));
    SchemaRegistryException refused =
        org.junit.jupiter.api.Assertions.assertThrows(
            SchemaRegistryException.class,
            () -> registry.register(subject, new Schema.Parser().parse(schema.toString())));
    assertEquals(409, refused.httpStatus(), refused.getMessage());
  }

  @Test
  void authAndMediaTypeErrors() throws Exception {
    String body = event("x", "acme");
    assertEquals(401, IngestHarness.post(server.port(), null, body).statusCode());
    assertEquals(401, IngestHarness.post(server.port(), "th_it_unknown", body).statusCode());
    String management = Secrets.generate(CredentialKind.MANAGEMENT.secretPrefix());
    keys.add(management, CredentialKind.MANAGEMENT, "acme", List.of(), "test");
    HttpResponse<String> forbidden = IngestHarness.post(server.port(), management, body);
    assertEquals(403, forbidden.statusCode());
    assertEquals(
        403, EventJson.MAPPER.readTree(forbidden.body()).path("error").path("code").asInt());
    assertEquals(
        415,
        IngestHarness.post(
                server.port(), token, "text/plain", body.getBytes(StandardCharsets.UTF_8), false)
            .statusCode());
    HttpResponse<String> malformed = harness.post(server.port(), "{\"event_id\":");
    assertEquals(400, malformed.statusCode());
    assertTrue(malformed.body().contains("Malformed JSON"), malformed.body());
    HttpResponse<String> tooLarge =
        harness.post(server.port(), "[" + (event("y", "acme") + ",").repeat(400) + "1]");
    assertEquals(413, tooLarge.statusCode(), tooLarge.body());
  }

  @Test
  void tokenRestrictedToAccountsRefusesOthers() throws Exception {
    String restricted = Secrets.generate(CredentialKind.INGEST.secretPrefix());
    keys.add(restricted, CredentialKind.INGEST, null, List.of("acme"), "acme only");
    HttpResponse<String> response =
        IngestHarness.post(
            server.port(), restricted, "[" + event("r1", "acme") + "," + event("r2", "beta") + "]");
    assertEquals(403, response.statusCode());
    assertTrue(response.body().contains("beta"), response.body());
  }

  @Test
  void brokerDownGives503WithRetryAfterThenRecoversAndTheTopicHoldsExactlyTheAcknowledged(
      @TempDir Path dir) throws Exception {
    LocalKafka kafka = LocalKafka.start(dir.resolve("kafka"), Ports.freePort(), Ports.freePort());
    IngestHarness isolated = new IngestHarness(dir);
    IngestServer ingest =
        IngestServer.start(
            IngestHarness.config(isolated.env(kafka.bootstrapServers(), "65536")),
            Clock.systemUTC());
    List<String> acknowledged = new ArrayList<>();
    try {
      assertEquals(
          202,
          isolated
              .post(
                  ingest.port(),
                  "[" + event("before-1", "acme") + "," + event("before-2", "beta") + "]")
              .statusCode());
      acknowledged.addAll(List.of("acme/before-1", "beta/before-2"));
      kafka.stop();
      HttpResponse<String> down =
          isolated.post(
              ingest.port(),
              "[" + event("during-1", "acme") + "," + event("during-2", "beta") + "]");
      assertEquals(503, down.statusCode(), down.body());
      assertEquals("1", down.headers().firstValue("Retry-After").orElse(""));
      kafka.restart();
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      int attempt = 0;
      HttpResponse<String> back;
      do {
        String id = "after-" + attempt++;
        back = isolated.post(ingest.port(), event(id, "acme"));
        if (back.statusCode() == 202) {
          acknowledged.add("acme/" + id);
        }
      } while (back.statusCode() != 202 && System.nanoTime() < deadline);
      assertEquals(202, back.statusCode(), back.body());
      assertEquals(
          acknowledged.stream().sorted().toList(),
          IngestHarness.keys(isolated.readTopic(kafka.bootstrapServers(), acknowledged.size())));
    } finally {
      ingest.close();
      kafka.stop();
    }
  }
}
