package io.tallyhouse.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.Migrations;
import io.tallyhouse.common.clickhouse.SqlLiteral;
import io.tallyhouse.common.runtime.ServiceMain;
import io.tallyhouse.schemas.avro.UsageEvent;
import io.tallyhouse.schemas.registry.RegistryConfig;
import io.tallyhouse.schemas.registry.SchemaRegistryClient;
import io.tallyhouse.schemas.serde.UsageEventSerde;
import io.tallyhouse.stream.rollup.GroupKey;
import io.tallyhouse.stream.topology.Decode;
import io.tallyhouse.stream.topology.StreamThreadFailures;
import io.tallyhouse.testkit.Infra;
import io.tallyhouse.testkit.RegistrySubjects;
import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * What the stream trusts in a record written by another producer, on the real broker, registry and
 * ClickHouse: created_at only up to the broker's timestamp plus the allowed skew, and a schema id
 * only as far as the registry answers for it. Trouble with the registry itself never dead-letters a
 * record.
 *
 * <p>Each test ends its sequence with a marker event in the group it checks, with a cost no other
 * combination of the events adds up to: the group's full totals in ClickHouse include the marker
 * only once every record before it in the partition was processed, so the test waits for that
 * instead of sleeping.
 */
class RecordTrustIntegrationTest {

  private static final Instant NOW = Instant.now().truncatedTo(ChronoUnit.SECONDS);

  @Test
  void aFarFutureCreatedAtIsADeadLetterAndDedupHoldsForItsPartition(@TempDir Path dir)
      throws Exception {
    Stack stack = new Stack(dir, Infra.registry().url());
    UsageEvent a = event("gen-a", NOW.minusSeconds(60), "1");
    UsageEvent future = event("gen-f", Instant.parse("2100-01-01T00:00:00Z"), "100");
    UsageEvent b = event("gen-b", NOW.minusSeconds(60), "2");
    UsageEvent marker = event("gen-marker", NOW.minusSeconds(60), "4");
    try (ClickHouse clickHouse = new ClickHouse(stack.config.clickHouse());
        UsageStreamApp app = UsageStreamApp.start(stack.config)) {
      stack.send(framed(a), framed(future), framed(a), framed(b), framed(b), framed(marker));

      JsonNode day = stack.awaitGroupUsageAtLeast(clickHouse, a, new BigDecimal("7"));
      assertEquals(
          3, day.get("requests").asLong(), "gen-a, gen-b and the marker once each: " + day);
      assertEquals(
          0,
          new BigDecimal("7").compareTo(new BigDecimal(day.get("usage").asText())),
          day.toString());
      List<ConsumerRecord<String, byte[]>> dead = stack.deadLetters();
      assertEquals(List.of("acme/gen-f"), dead.stream().map(ConsumerRecord::key).toList());
      String reason = reason(dead.get(0));
      assertTrue(
          reason.contains(
              "created_at 2100-01-01T00:00:00Z is more than 6 minutes after the record's timestamp"),
          reason);
    }
  }

  @Test
  void theRegistrysAnswersThatAnIdIsUnknownOrNotAvroDeadLetterOnceWithoutReplacingTheThread(
      @TempDir Path dir) throws Exception {
    Stack stack = new Stack(dir, Infra.registry().url());
    int protobuf = registerProtobuf("trust-" + stack.name + "-value");
    UsageEvent marker = event("gen-marker", NOW.minusSeconds(60), "4");
    try (ClickHouse clickHouse = new ClickHouse(stack.config.clickHouse());
        UsageStreamApp app = UsageStreamApp.start(stack.config)) {
      stack.send(withSchemaId(Integer.MAX_VALUE - 11), withSchemaId(protobuf), framed(marker));

      stack.awaitGroupUsageAtLeast(clickHouse, marker, new BigDecimal("4"));
      List<ConsumerRecord<String, byte[]>> dead = stack.deadLetters();
      assertEquals(2, dead.size(), "each poison record once");
      assertTrue(reason(dead.get(0)).contains("40403"), reason(dead.get(0)));
      assertTrue(reason(dead.get(1)).contains("PROTOBUF, not AVRO"), reason(dead.get(1)));
      assertEquals(0, app.threadFailures(), "no stream thread was replaced");
    }
  }

  @Test
  void aWrongRegistryPathDeadLettersNothingFailsReadinessAndEveryEventCountsOnceOnceItIsFixed(
      @TempDir Path dir) throws Exception {
    String wrong = URI.create(Infra.registry().url()).resolve("/wrong/").toString();
    Stack misconfigured = new Stack(dir, wrong);
    UsageEvent a = event("gen-a", NOW.minusSeconds(60), "1");
    UsageEvent b = event("gen-b", NOW.minusSeconds(60), "2");
    UsageEvent marker = event("gen-marker", NOW.minusSeconds(60), "4");
    ListAppender<ILoggingEvent> log = new ListAppender<>();
    Logger appLog = (Logger) LoggerFactory.getLogger(StreamThreadFailures.class);
    log.start();
    appLog.addAppender(log);
    try (ClickHouse clickHouse = new ClickHouse(misconfigured.config.clickHouse())) {
      try (UsageStreamApp app = UsageStreamApp.start(misconfigured.config)) {
        misconfigured.send(framed(a), framed(b), framed(a), framed(marker));
        await(
            "a stream thread failed on the registry and /health/ready fails",
            () -> app.threadFailures() >= 1 && status(app, "/health/ready") == 503);
        String line =
            log.list.stream()
                .map(ILoggingEvent::getFormattedMessage)
                .filter(m -> m.contains("schema registry at"))
                .findFirst()
                .orElseThrow();
        assertTrue(
            line.contains(wrong.substring(0, wrong.length() - 1)) && line.contains("HTTP 404"),
            line);
        assertEquals(
            0,
            misconfigured.deadLetterEndOffsets(),
            "nothing was even tried on the dead-letter topic");
      } finally {
        appLog.detachAppender(log);
      }

      Stack fixed = new Stack(dir, Infra.registry().url(), misconfigured.name);
      try (UsageStreamApp app = UsageStreamApp.start(fixed.config)) {
        JsonNode day = fixed.awaitGroupUsageAtLeast(clickHouse, a, new BigDecimal("7"));
        assertEquals(3, day.get("requests").asLong(), day.toString());
        assertEquals(
            0,
            new BigDecimal("7").compareTo(new BigDecimal(day.get("usage").asText())),
            day.toString());
        await("/health/ready answers 200", () -> status(app, "/health/ready") == 200);
        assertTrue(fixed.deadLetters().isEmpty());
      }
    }
  }

  private static UsageEvent event(String id, Instant createdAt, String cost) {
    return Events.event("acme", id, createdAt.toString(), null, cost);
  }

  private static byte[] framed(UsageEvent e) {
    SchemaRegistryClient registry =
        new SchemaRegistryClient(new RegistryConfig(Infra.registry().url()));
    return UsageEventSerde.serializer(registry).serialize("trust", e);
  }

  /** A Confluent frame naming the schema id, with a body no schema would read. */
  private static byte[] withSchemaId(int id) {
    return ByteBuffer.allocate(6).put((byte) 0).putInt(id).put((byte) 0).array();
  }

  private static int registerProtobuf(String subject) throws Exception {
    String body =
        "{\"schemaType\":\"PROTOBUF\","
            + "\"schema\":\"syntax = \\\"proto3\\\"; message Usage { string id = 1; }\"}";
    return RegistrySubjects.register(subject, body);
  }

  private static String reason(ConsumerRecord<String, byte[]> record) {
    return new String(record.headers().lastHeader(Decode.REASON).value(), StandardCharsets.UTF_8);
  }

  private static int status(UsageStreamApp app, String path) {
    try {
      return HttpClient.newHttpClient()
          .send(
              HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + app.port() + path)).build(),
              HttpResponse.BodyHandlers.ofString())
          .statusCode();
    } catch (Exception e) {
      return -1;
    }
  }

  private static void await(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
    while (System.nanoTime() < deadline) {
      if (condition.getAsBoolean()) {
        return;
      }
      Thread.sleep(200);
    }
    fail("not within 120 s: " + what);
  }

  /**
   * One application's topics, state and database; all records go to partition 0 of a two-partition
   * topic.
   */
  private static final class Stack {
    final String name;
    final StreamConfig config;

    Stack(Path dir, String registryUrl) {
      this(
          dir, registryUrl, "rt_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12));
    }

    Stack(Path dir, String registryUrl, String name) {
      this.name = name;
      Map<String, String> env = Infra.serviceEnvironment();
      env.put("SCHEMA_REGISTRY_URL", registryUrl);
      env.put("CLICKHOUSE_DATABASE", name);
      env.put("EVENTS_TOPIC", name + "-events");
      env.put("EVENTS_PARTITIONS", "2");
      env.put("APPLICATION_ID", name);
      env.put("STATE_DIR", dir.toString());
      env.put("HTTP_PORT", "0");
      this.config = ServiceMain.read(env, StreamConfig::read);
      Migrations.apply(config.clickHouse());
    }

    /**
     * Writes the values in order to partition 0, as a plain Kafka producer of another team would.
     */
    void send(byte[]... values) throws Exception {
      Map<String, Object> props =
          Map.of("bootstrap.servers", config.bootstrapServers(), "acks", "all");
      try (KafkaProducer<String, byte[]> producer =
          new KafkaProducer<>(props, new StringSerializer(), new ByteArraySerializer())) {
        for (byte[] value : values) {
          producer.send(new ProducerRecord<>(config.eventsTopic(), 0, keyOf(value), value)).get();
        }
      }
    }

    private static String keyOf(byte[] value) {
      try {
        UsageEvent e =
            UsageEventSerde.deserializer(
                    new SchemaRegistryClient(new RegistryConfig(Infra.registry().url())))
                .deserialize("trust", value);
        return e.getAccountId() + "/" + e.getEventId();
      } catch (RuntimeException unreadable) {
        return "unreadable";
      }
    }

    /** The group's usage_daily totals (summed over shards) once its usage reaches {@code least}. */
    JsonNode awaitGroupUsageAtLeast(ClickHouse clickHouse, UsageEvent member, BigDecimal least)
        throws InterruptedException {
      String sql =
          "SELECT sum(requests) AS requests, toString(sum(usage)) AS usage FROM usage_daily FINAL"
              + " WHERE account_id = "
              + SqlLiteral.string(member.getAccountId())
              + " AND date = "
              + SqlLiteral.string(GroupKey.utcDay(member).toString());
      JsonNode[] seen = new JsonNode[1];
      await(
          "usage_daily reaches " + least + " for " + member.getEventId() + "'s day",
          () -> {
            try {
              seen[0] = clickHouse.query(sql).get(0);
              return new BigDecimal(seen[0].get("usage").asText()).compareTo(least) >= 0;
            } catch (RuntimeException notYet) {
              return false;
            }
          });
      return seen[0];
    }

    List<ConsumerRecord<String, byte[]>> deadLetters() {
      Map<String, Object> props =
          Map.of(
              "bootstrap.servers",
              config.bootstrapServers(),
              "group.id",
              "dlq-reader-" + UUID.randomUUID(),
              "auto.offset.reset",
              "earliest",
              "isolation.level",
              "read_committed");
      List<ConsumerRecord<String, byte[]>> out = new ArrayList<>();
      try (KafkaConsumer<String, byte[]> consumer =
          new KafkaConsumer<>(props, new StringDeserializer(), new ByteArrayDeserializer())) {
        List<TopicPartition> partitions =
            consumer.partitionsFor(config.deadLetterTopic()).stream()
                .map(p -> new TopicPartition(p.topic(), p.partition()))
                .toList();
        consumer.assign(partitions);
        Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (partitions.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
          if (System.nanoTime() > deadline) {
            fail("cannot read the dead-letter topic to its end " + end);
          }
          consumer.poll(Duration.ofMillis(200)).forEach(out::add);
        }
      }
      out.sort((x, y) -> Long.compare(sourceOffset(x), sourceOffset(y)));
      return out;
    }

    private static long sourceOffset(ConsumerRecord<String, byte[]> record) {
      String source =
          new String(record.headers().lastHeader(Decode.SOURCE).value(), StandardCharsets.UTF_8);
      return Long.parseLong(source.substring(source.indexOf('@') + 1));
    }

    /** Records and transaction markers ever written to the dead-letter topic, committed or not. */
    long deadLetterEndOffsets() {
      Map<String, Object> props = Map.of("bootstrap.servers", config.bootstrapServers());
      try (KafkaConsumer<String, byte[]> consumer =
          new KafkaConsumer<>(props, new StringDeserializer(), new ByteArrayDeserializer())) {
        List<TopicPartition> partitions =
            consumer.partitionsFor(config.deadLetterTopic()).stream()
                .map(p -> new TopicPartition(p.topic(), p.partition()))
                .toList();
        return consumer.endOffsets(partitions).values().stream().mapToLong(Long::longValue).sum();
      }
    }
  }
}
