package io.tallyhouse.schemas.serde;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import io.tallyhouse.schemas.avro.UsageEvent;
import io.tallyhouse.schemas.registry.RegistryConfig;
import io.tallyhouse.schemas.registry.SchemaRegistryClient;
import io.tallyhouse.schemas.registry.SchemaRegistryException;
import io.tallyhouse.testkit.Infra;
import io.tallyhouse.testkit.RegistrySubjects;
import java.math.BigDecimal;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.avro.Schema;
import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The Confluent protocol against the real registry (Apicurio's ccompat API locally). */
class UsageEventSerdeIntegrationTest {

  private static SchemaRegistryClient registry;

  @BeforeAll
  static void connect() {
    registry =
        new SchemaRegistryClient(
            new RegistryConfig(Infra.registry().url(), null, null, Duration.ofSeconds(10)));
  }

  static UsageEvent event() {
    return UsageEvent.newBuilder()
        .setEventId("gen-1")
        .setAccountId("acme")
        .setApiKeyHash("a".repeat(64))
        .setUser("user-ü")
        .setModel("openai/gpt-4o")
        .setModelPermaslug("openai/gpt-4o-2024-08-06")
        .setProviderName("OpenAI")
        .setEndpointId("OpenAI/openai/gpt-4o-2024-08-06")
        .setCreatedAt(Instant.parse("2026-11-21T10:15:30.123456Z"))
        .setPromptTokens(1_000_000_000_000L)
        .setCompletionTokens(2)
        .setReasoningTokens(3)
        .setCachedTokens(4)
        .setCost(new BigDecimal("12345678901234567890.000043022187"))
        .setIsByok(true)
        .setByokCost(new BigDecimal("0.000000000001"))
        .setApp(null)
        .setReceivedAt(Instant.parse("2026-11-21T10:15:31Z"))
        .build();
  }

  @Test
  void eventRoundTripsExactlyInTheConfluentWireFormat() {
    UsageEvent event = event();
    byte[] payload = UsageEventSerde.serializer(registry).serialize("roundtrip-events", event);

    assertEquals(0, payload[0], "magic byte");
    int id = ByteBuffer.wrap(payload, 1, 4).getInt();
    assertEquals(UsageEvent.getClassSchema(), registry.schemaById(id));

    // A fresh client proves the id is resolved through the registry, not a local cache.
    SchemaRegistryClient fresh =
        new SchemaRegistryClient(new RegistryConfig(Infra.registry().url()));
    UsageEvent read = UsageEventSerde.deserializer(fresh).deserialize("roundtrip-events", payload);
    assertEquals(event, read);
    assertEquals(new BigDecimal("12345678901234567890.000043022187"), read.getCost());
    assertEquals(12, read.getByokCost().scale());
    assertNull(read.getApp());
  }

  @Test
  void registeringTheSameSchemaTwiceGivesTheSameId() {
    int first = registry.register("idempotent-value", UsageEvent.getClassSchema());
    int second =
        new SchemaRegistryClient(new RegistryConfig(Infra.registry().url()))
            .register("idempotent-value", UsageEvent.getClassSchema());
    assertEquals(first, second);
  }

  @Test
  void unknownSchemaIdIsReportedWithTheRegistryErrorCode() {
    SchemaRegistryException e =
        assertThrows(SchemaRegistryException.class, () -> registry.schemaById(987_654));
    assertEquals(404, e.httpStatus());
    assertEquals(40403, e.errorCode());

    byte[] framed = ByteBuffer.allocate(6).put((byte) 0).putInt(987_654).put((byte) 0).array();
    SerializationException s =
        assertThrows(
            SerializationException.class,
            () -> UsageEventSerde.deserializer(registry).deserialize("t", framed));
    assertInstanceOf(SchemaRegistryException.class, s.getCause());
    assertTrue(registry.trouble().isEmpty(), "40403 is the registry's answer, not trouble");
  }

  @Test
  void payloadWithoutTheMagicByteIsRefused() {
    byte[] payload = UsageEventSerde.serializer(registry).serialize("magic-events", event());
    payload[0] = 1;
    SerializationException e =
        assertThrows(
            SerializationException.class,
            () -> UsageEventSerde.deserializer(registry).deserialize("magic-events", payload));
    assertTrue(e.getMessage().contains("magic byte"));
    assertThrows(
        SerializationException.class,
        () ->
            UsageEventSerde.deserializer(registry).deserialize("magic-events", new byte[] {0, 0}));
  }

  @Test
  void incompatibleSchemaChangeIsRefusedUnderBackward() {
    String subject = "evolving-value";
    registry.setCompatibility(subject, "BACKWARD");
    registry.register(subject, UsageEvent.getClassSchema());

    // Adding a field with a default is a BACKWARD-compatible change ...
    Schema compatible =
        withExtraField(
            UsageEvent.getClassSchema(),
            "{\"name\":\"region\",\"type\":[\"null\",\"string\"],\"default\":null}");
    registry.register(subject, compatible);

    // ... adding a required field without a default is not: new readers cannot read old data.
    Schema incompatible =
        withExtraField(
            UsageEvent.getClassSchema(), "{\"name\":\"tenant_tier\",\"type\":\"string\"}");
    SchemaRegistryException e =
        assertThrows(SchemaRegistryException.class, () -> registry.register(subject, incompatible));
    assertEquals(409, e.httpStatus());
  }

  @Test
  void aSubjectIsMadeBackwardCompatibleItselfAndAStricterLevelStays() {
    String fresh = "compat-fresh-" + System.nanoTime() + "-value";
    registry.requireBackwardCompatibility(fresh);
    assertEquals("BACKWARD", registry.compatibility(fresh));
    registry.requireBackwardCompatibility(fresh);
    assertEquals("BACKWARD", registry.compatibility(fresh), "idempotent");

    // Apicurio keeps a level of NONE only on a subject that exists.
    String loose = "compat-none-" + System.nanoTime() + "-value";
    registry.register(loose, UsageEvent.getClassSchema());
    registry.setCompatibility(loose, "NONE");
    registry.requireBackwardCompatibility(loose);
    assertEquals("BACKWARD", registry.compatibility(loose));

    String strict = "compat-full-" + System.nanoTime() + "-value";
    registry.register(strict, UsageEvent.getClassSchema());
    registry.setCompatibility(strict, "FULL_TRANSITIVE");
    registry.requireBackwardCompatibility(strict);
    assertEquals("FULL_TRANSITIVE", registry.compatibility(strict));
  }

  @Test
  void unreachableRegistryIsAClearError() {
    SchemaRegistryClient nowhere =
        new SchemaRegistryClient(
            new RegistryConfig("http://127.0.0.1:9", null, null, Duration.ofSeconds(2)));
    SchemaRegistryException e =
        assertThrows(SchemaRegistryException.class, () -> nowhere.schemaById(1));
    assertTrue(e.getMessage().contains("unreachable"));
    assertEquals(-1, e.errorCode());
  }

  @Test
  void aRegisteredSchemaThatIsNotAvroMakesTheRecordUnreadableNotTheRegistryFaulty()
      throws Exception {
    int id =
        RegistrySubjects.register(
            "not-avro-value",
            "{\"schemaType\":\"PROTOBUF\",\"schema\":\"syntax = \\\"proto3\\\"; message Usage { string id = 1; }\"}");
    byte[] framed = ByteBuffer.allocate(6).put((byte) 0).putInt(id).put((byte) 0).array();
    ConfluentAvroDeserializer<UsageEvent> deserializer = UsageEventSerde.deserializer(registry);
    SerializationException e =
        assertThrows(SerializationException.class, () -> deserializer.deserialize("t", framed));
    assertTrue(e.getMessage().contains("PROTOBUF, not AVRO"), e.getMessage());
    assertThrows(SerializationException.class, () -> deserializer.deserialize("t", framed));
    assertTrue(registry.trouble().isEmpty(), "the registry answered");
  }

  @Test
  void aWrongRegistryPathIsTroubleNotAnUnknownSchema() {
    String wrong = URI.create(Infra.registry().url()).resolve("/wrong/").toString();
    SchemaRegistryClient misconfigured = new SchemaRegistryClient(new RegistryConfig(wrong));
    byte[] framed = ByteBuffer.allocate(6).put((byte) 0).putInt(987_654).put((byte) 0).array();
    SchemaRegistryException e =
        assertThrows(
            SchemaRegistryException.class,
            () -> UsageEventSerde.deserializer(misconfigured).deserialize("t", framed));
    assertFalse(e.schemaNotFound());
    String trouble = misconfigured.trouble().orElseThrow();
    assertTrue(
        trouble.contains(wrong.substring(0, wrong.length() - 1)) && trouble.contains("HTTP 404"),
        trouble);
  }

  @Test
  void aRegistryAnswering503IsTroubleUntilItAnswersAgain() throws Exception {
    HttpServer outage = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    outage.createContext(
        "/",
        exchange -> {
          byte[] body =
              "{\"error_code\":50301,\"message\":\"overloaded\"}".getBytes(StandardCharsets.UTF_8);
          exchange.sendResponseHeaders(503, body.length);
          exchange.getResponseBody().write(body);
          exchange.close();
        });
    outage.start();
    try {
      SchemaRegistryClient client =
          new SchemaRegistryClient(
              new RegistryConfig("http://127.0.0.1:" + outage.getAddress().getPort()));
      byte[] framed = ByteBuffer.allocate(6).put((byte) 0).putInt(1).put((byte) 0).array();
      SchemaRegistryException e =
          assertThrows(
              SchemaRegistryException.class,
              () -> UsageEventSerde.deserializer(client).deserialize("t", framed));
      assertEquals(503, e.httpStatus());
      assertTrue(
          client.trouble().orElseThrow().contains("HTTP 503, error_code 50301: overloaded"),
          client.trouble().orElseThrow());
    } finally {
      outage.stop(0);
    }
  }

  @Test
  void aSchemaTextThatDoesNotParseIsUnusableAndDecidedOnce() throws Exception {
    AtomicInteger lookups = new AtomicInteger();
    HttpServer garbage = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    garbage.createContext(
        "/",
        exchange -> {
          lookups.incrementAndGet();
          byte[] body =
              "{\"schema\":\"{\\\"type\\\":\\\"record\\\"\"}".getBytes(StandardCharsets.UTF_8);
          exchange.sendResponseHeaders(200, body.length);
          exchange.getResponseBody().write(body);
          exchange.close();
        });
    garbage.start();
    try {
      SchemaRegistryClient client =
          new SchemaRegistryClient(
              new RegistryConfig("http://127.0.0.1:" + garbage.getAddress().getPort()));
      byte[] framed = ByteBuffer.allocate(6).put((byte) 0).putInt(7).put((byte) 0).array();
      for (int i = 0; i < 3; i++) {
        SerializationException e =
            assertThrows(
                SerializationException.class,
                () -> UsageEventSerde.deserializer(client).deserialize("t", framed));
        assertTrue(e.getMessage().contains("schema 7 does not parse as Avro"), e.getMessage());
      }
      assertEquals(1, lookups.get(), "the verdict is kept for the id");
      assertTrue(client.trouble().isEmpty(), "the registry answered");
    } finally {
      garbage.stop(0);
    }
  }

  @Test
  void serializerOutputIsStableForTheSameEvent() {
    assertArrayEquals(
        UsageEventSerde.serializer(registry).serialize("stable-events", event()),
        UsageEventSerde.serializer(registry).serialize("stable-events", event()));
  }

  private static Schema withExtraField(Schema base, String fieldJson) {
    String json = base.toString();
    String evolved = json.substring(0, json.lastIndexOf(']')) + "," + fieldJson + "]}";
    return new Schema.Parser().parse(evolved);
  }
}
