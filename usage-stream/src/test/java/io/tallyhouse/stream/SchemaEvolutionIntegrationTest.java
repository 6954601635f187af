package io.tallyhouse.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.kafka.PipelineTopics;
import io.tallyhouse.schemas.avro.UsageEvent;
import io.tallyhouse.schemas.contract.Workspaces;
import io.tallyhouse.schemas.registry.RegistryConfig;
import io.tallyhouse.schemas.registry.SchemaRegistryClient;
import io.tallyhouse.schemas.registry.SchemaRegistryException;
import io.tallyhouse.schemas.serde.ConfluentAvroSerializer;
import io.tallyhouse.schemas.serde.UsageEventSerde;
import io.tallyhouse.testkit.Await;
import io.tallyhouse.testkit.Infra;
import java.io.InputStream;
import java.math.BigDecimal;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.UnaryOperator;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.generic.IndexedRecord;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The event schema's evolution from v1 to v2 (workspace_id) on the real registry and the real
 * stream, as deployments go through it: v1 records already on the topic when the new stream starts,
 * then gateway-ingest's v2 (registered under BACKWARD) beside producers still writing v1. Every
 * event counts once, exactly, v1 events in the workspace default and v2 events in theirs; the
 * subject holds both versions; an incompatible v3 is refused.
 */
class SchemaEvolutionIntegrationTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  /** The event schema before workspaces (the schema as of commit 89e9079). */
  private static final Schema V1 = v1();

  @Test
  void v1RecordsOnTheTopicAndV1AndV2ProducersSideBySideCountOnceAndV3IsRefused(@TempDir Path dir)
      throws Exception {
    String name = StreamTestEnv.newName("ev");
    StreamConfig config = StreamTestEnv.migratedConfig(name, dir);
    String topic = config.eventsTopic();
    String subject = topic + "-value";
    SchemaRegistryClient registry =
        new SchemaRegistryClient(new RegistryConfig(Infra.registry().url()));
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", config.bootstrapServers()))) {
      PipelineTopics.ensure(admin, List.of(topic), config.eventsPartitions(), 60_000);
    }

    Instant base =
        Instant.now().truncatedTo(ChronoUnit.DAYS).minus(2, ChronoUnit.DAYS).plusSeconds(3600);
    // The oracle: every distinct event as the stream must read it (v1 ones in workspace default).
    List<UsageEvent> distinct = new ArrayList<>();

    // Before the upgrade: an old producer registered v1 and its records wait on the topic.
    List<IndexedRecord> before = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      before.add(v1Event(account(i), "old-" + i, base.plusSeconds(i * 60L), cost(i)));
    }
    try (KafkaProducer<String, IndexedRecord> v1 = producer(config, serializer(registry))) {
      send(v1, topic, before);
    }
    registry.requireBackwardCompatibility(subject);
    before.forEach(e -> distinct.add(asRead((GenericRecord) e)));

    UsageStreamApp app = UsageStreamApp.start(config);
    try (ClickHouse clickHouse = new ClickHouse(config.clickHouse())) {
      awaitRequests(clickHouse, distinct.size());

      // The upgrade: gateway-ingest's v2 beside a producer still on v1, and a retry through v2 of
      // events first written as v1 (the same events: counted once).
      List<IndexedRecord> newV1 = new ArrayList<>();
      List<IndexedRecord> newV2 = new ArrayList<>();
      for (int i = 0; i < 15; i++) {
        newV1.add(v1Event(account(i), "still-v1-" + i, base.plusSeconds(i * 70L), cost(i + 3)));
        UsageEvent v2 =
            Events.event(
                account(i),
                "v2-" + i,
                base.plusSeconds(i * 80L).toString(),
                null,
                cost(i + 5).toPlainString());
        v2.setWorkspaceId(i % 3 == 0 ? Workspaces.DEFAULT : "ws-" + (i % 2));
        newV2.add(v2);
      }
      List<IndexedRecord> retries = new ArrayList<>();
      for (IndexedRecord old : before.subList(0, 5)) {
        retries.add(asRead((GenericRecord) old));
      }
      try (KafkaProducer<String, IndexedRecord> v1 = producer(config, serializer(registry));
          KafkaProducer<String, IndexedRecord> v2 =
              producer(config, castSerializer(UsageEventSerde.serializer(registry)))) {
        for (int i = 0; i < 15; i++) {
          send(v1, topic, newV1.subList(i, i + 1));
          send(v2, topic, newV2.subList(i, i + 1));
        }
        send(v2, topic, retries);
      }
      newV1.forEach(e -> distinct.add(asRead((GenericRecord) e)));
      newV2.forEach(e -> distinct.add((UsageEvent) e));
      awaitRequests(clickHouse, distinct.size());

      assertEquals(
          WorkspaceTotals.of(distinct, Workspaces::stored),
          WorkspaceTotals.in(clickHouse, "usage_daily"),
          "exact totals per account and workspace, v1 events in default");
      assertEquals(
          WorkspaceTotals.of(distinct, UnaryOperator.identity()),
          WorkspaceTotals.in(clickHouse, "usage_events"),
          "every distinct event stored once, with its workspace");
      Set<String> reported = new TreeSet<>();
      distinct.forEach(e -> reported.add(e.getAccountId() + " " + e.getWorkspaceId()));
      Set<String> stored = new TreeSet<>();
      clickHouse
          .query("SELECT DISTINCT account_id, workspace_id FROM workspaces")
          .forEach(
              row ->
                  stored.add(
                      row.get("account_id").asText() + " " + row.get("workspace_id").asText()));
      assertEquals(reported, stored, "every workspace reported, as shown");
      assertEquals(List.of(1, 2), versions(subject), "the subject holds v1 and v2");
      assertEquals(V1, registry.schemaById(schemaId(subject, 1)));
      assertEquals(UsageEvent.getClassSchema(), registry.schemaById(schemaId(subject, 2)));
    } finally {
      app.close();
    }

    // v3 adds a field without a default: a v3 reader could not read the records on the topic.
    Schema v3 = withField(UsageEvent.getClassSchema(), "region", "string");
    SchemaRegistryException refused =
        assertThrows(SchemaRegistryException.class, () -> registry.register(subject, v3));
    assertEquals(409, refused.httpStatus(), refused.getMessage());
    // What gateway-ingest's start (publishSchema) fails with, naming the request and the answer.
    assertTrue(
        refused.getMessage().contains("/subjects/" + subject + "/versions failed: HTTP 409"),
        refused.getMessage());
    assertEquals(List.of(1, 2), versions(subject), "the latest version stays v2");
    // A producer of v3 (gateway-ingest built with it registers it the same way at start) fails
    // before writing anything, naming the schema and the registry's answer.
    GenericRecord record = new GenericData.Record(v3);
    SerializationException e =
        assertThrows(
            SerializationException.class, () -> serializer(registry).serialize(topic, record));
    assertTrue(
        e.getMessage()
            .startsWith("cannot register the schema of io.tallyhouse.schemas.avro.UsageEvent:"),
        e.getMessage());
    assertTrue(e.getMessage().contains(refused.getMessage()), e.getMessage());
  }

  /** Waits for {@code expected} requests, failing at once on more (a double count). */
  private static void awaitRequests(ClickHouse clickHouse, long expected) throws Exception {
    Await.until(
        expected + " requests counted",
        () -> {
          long seen = StreamTestEnv.countedRequests(clickHouse);
          assertTrue(seen <= expected, "counted " + seen + " requests of " + expected + " events");
          return seen == expected;
        },
        Await.STALL);
  }

  private static List<Integer> versions(String subject) throws Exception {
    List<Integer> versions = new ArrayList<>();
    registryGet("/subjects/" + encode(subject) + "/versions").forEach(v -> versions.add(v.asInt()));
    return versions;
  }

  private static int schemaId(String subject, int version) throws Exception {
    return registryGet("/subjects/" + encode(subject) + "/versions/" + version).get("id").asInt();
  }

  private static JsonNode registryGet(String path) throws Exception {
    HttpResponse<String> response =
        HTTP.send(
            HttpRequest.newBuilder(URI.create(Infra.registry().url() + path)).build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(200, response.statusCode(), path + ": " + response.body());
    return JSON.readTree(response.body());
  }

  private static String encode(String subject) {
    return URLEncoder.encode(subject, StandardCharsets.UTF_8);
  }

  private static String account(int i) {
    return i % 2 == 0 ? "acme" : "beta";
  }

  private static BigDecimal cost(int i) {
    return new BigDecimal("0.000000000001")
        .multiply(BigDecimal.valueOf(i + 1))
        .add(BigDecimal.valueOf(i % 4));
  }

  /** What the stream reads for a v1 record: the same event in the default workspace. */
  private static UsageEvent asRead(GenericRecord v1) {
    UsageEvent event =
        Events.event(
            v1.get("account_id").toString(),
            v1.get("event_id").toString(),
            v1.get("created_at").toString(),
            null,
            ((BigDecimal) v1.get("cost")).toPlainString());
    event.setWorkspaceId(Workspaces.DEFAULT);
    return event;
  }

  /** An event as a producer still on v1 writes it. */
  private static GenericRecord v1Event(String account, String id, Instant at, BigDecimal cost) {
    GenericRecord e = new GenericData.Record(V1);
    e.put("event_id", id);
    e.put("account_id", account);
    e.put("api_key_hash", Events.KEY_A);
    e.put("user", null);
    e.put("model", "openai/gpt-4o");
    e.put("model_permaslug", "openai/gpt-4o-2024-08-06");
    e.put("provider_name", "OpenAI");
    e.put("endpoint_id", "OpenAI/openai/gpt-4o-2024-08-06");
    e.put("created_at", at);
    e.put("prompt_tokens", 10L);
    e.put("completion_tokens", 20L);
    e.put("reasoning_tokens", 3L);
    e.put("cached_tokens", 4L);
    e.put("cost", cost.setScale(12));
    e.put("is_byok", false);
    e.put("byok_cost", BigDecimal.ZERO.setScale(12));
    e.put("app", null);
    e.put("received_at", at);
    return e;
  }

  private static Serializer<IndexedRecord> serializer(SchemaRegistryClient registry) {
    return new ConfluentAvroSerializer<>(registry, false);
  }

  @SuppressWarnings("unchecked")
  private static Serializer<IndexedRecord> castSerializer(Serializer<? extends IndexedRecord> s) {
    return (Serializer<IndexedRecord>) s;
  }

  private static KafkaProducer<String, IndexedRecord> producer(
      StreamConfig config, Serializer<IndexedRecord> serializer) {
    Properties props = new Properties();
    props.put("bootstrap.servers", config.bootstrapServers());
    props.put("acks", "all");
    return new KafkaProducer<>(props, new StringSerializer(), serializer);
  }

  private static void send(
      KafkaProducer<String, IndexedRecord> producer, String topic, List<IndexedRecord> events)
      throws Exception {
    for (IndexedRecord event : events) {
      GenericRecord e = (GenericRecord) event;
      producer
          .send(new ProducerRecord<>(topic, e.get("account_id") + "/" + e.get("event_id"), event))
          .get();
    }
  }

  private static Schema withField(Schema schema, String field, String type) throws Exception {
    ObjectNode json = (ObjectNode) JSON.readTree(schema.toString());
    ((ArrayNode) json.get("fields")).addObject().put("name", field).put("type", type);
    return new Schema.Parser().parse(json.toString());
  }

  private static Schema v1() {
    try (InputStream in =
        SchemaEvolutionIntegrationTest.class.getResourceAsStream("/avro/UsageEvent-v1.avsc")) {
      return new Schema.Parser().parse(in);
    } catch (Exception e) {
      throw new IllegalStateException("the v1 schema resource: " + e.getMessage(), e);
    }
  }
}
