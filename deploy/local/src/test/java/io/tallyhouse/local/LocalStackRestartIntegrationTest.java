package io.tallyhouse.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.tallyhouse.common.auth.CredentialKind;
import io.tallyhouse.common.auth.Secrets;
import io.tallyhouse.local.ExpectedActivity.SentEvent;
import io.tallyhouse.schemas.avro.UsageEvent;
import io.tallyhouse.schemas.registry.RegistryConfig;
import io.tallyhouse.schemas.registry.SchemaRegistryClient;
import io.tallyhouse.schemas.serde.ConfluentAvroDeserializer;
import io.tallyhouse.schemas.serde.UsageEventSerde;
import io.tallyhouse.testkit.Await;
import io.tallyhouse.testkit.Ports;
import java.math.BigDecimal;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.internals.BuiltInPartitioner;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code make run} keeps its data: the local stack stopped and started again on the same home
 * answers with the same totals, still recognises the events it counted before, and the schema ids
 * inside the records already on Kafka still resolve in its registry.
 */
class LocalStackRestartIntegrationTest {

  private static final ObjectMapper JSON =
      JsonMapper.builder()
          .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
          .nodeFactory(JsonNodeFactory.withExactBigDecimals(true))
          .build();
  private static final String ACCOUNT = "demo";
  private static final String EVENTS_TOPIC = "usage-events";
  private static final String KEY_HASH = Secrets.sha256Hex("restart-key");

  @Test
  void restartedStackKeepsItsTotalsAndCountsACopyOfAnOldEventOnce(@TempDir Path home)
      throws Exception {
    Map<String, String> env = environment(home);
    LocalDate today = LocalDate.now(ZoneOffset.UTC);
    List<SentEvent> sent = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      sent.add(event("before-" + i, "user-" + (i % 3), today.minusDays(2 + i % 3), i));
    }
    // Alone in its group (its own user), so its total shows whether a copy was counted.
    SentEvent old = event("before-alone", "alone", today.minusDays(3), 99);
    sent.add(old);

    LocalStack stack = new LocalStack();
    try {
      LocalStack.Endpoints first = stack.start(env);
      assertFalse(first.keptData());
      post(first, sent);
      awaitActivity(first, sent, today);
    } finally {
      stack.close();
    }

    stack = new LocalStack();
    try {
      LocalStack.Endpoints second = stack.start(env);
      assertTrue(second.keptData());
      // ClickHouse came back with its rows: the same answer at once, nothing posted yet.
      assertActivity(second, sent, today);

      List<SentEvent> after = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        after.add(event("after-" + i, "user-" + (i % 3), today.minusDays(1 + i % 4), 20 + i));
      }
      post(second, List.of(old));
      post(second, after);
      // The dedup store holds the copy's id only if Kafka and the stream's state came back. The
      // sentinel shares the copy's partition and comes after it, so once the sentinel is counted
      // the
      // stream has decided on the copy, and the writer has written whatever that decision produced.
      int partitions = partitions(second);
      SentEvent sentinel = sentinelAfter(old, partitions, today);
      post(second, List.of(sentinel));
      sent.add(old);
      sent.addAll(after);
      sent.add(sentinel);
      awaitActivity(second, sent, today);

      assertEveryRecordResolvesInTheRegistry(second, 20 + 1 + 1 + 10 + 1);
    } finally {
      stack.close();
    }
  }

  /** The stack's environment: its home, fixed keys and free ports, the same for both starts. */
  private static Map<String, String> environment(Path home) {
    Map<String, String> env = new HashMap<>();
    env.put("TALLYHOUSE_HOME", home.toString());
    env.put("INGEST_TOKEN", Secrets.generate(CredentialKind.INGEST.secretPrefix()));
    env.put("MANAGEMENT_KEY", Secrets.generate(CredentialKind.MANAGEMENT.secretPrefix()));
    for (String port :
        List.of(
            "LOCAL_INGEST_PORT",
            "LOCAL_QUERY_PORT",
            "LOCAL_STREAM_PORT",
            "LOCAL_KAFKA_PORT",
            "LOCAL_KAFKA_CONTROLLER_PORT",
            "LOCAL_REGISTRY_PORT",
            "LOCAL_CLICKHOUSE_HTTP_PORT",
            "LOCAL_CLICKHOUSE_TCP_PORT")) {
      env.put(port, String.valueOf(Ports.freePort()));
    }
    return env;
  }

  private static SentEvent event(String id, String user, LocalDate day, int n) {
    return new SentEvent(
        id,
        ACCOUNT,
        KEY_HASH,
        user,
        "openai/gpt-4o",
        "openai/gpt-4o",
        "OpenAI",
        "OpenAI/openai/gpt-4o",
        day.atStartOfDay(ZoneOffset.UTC).toInstant().plusSeconds(60L * n + 7),
        100 + n,
        10 + n,
        0,
        0,
        new BigDecimal("0.000012345678").multiply(BigDecimal.valueOf(n + 1)),
        false,
        BigDecimal.ZERO,
        null);
  }

  /**
   * An event in a group of its own whose record lands in the same partition of the events topic as
   * {@code copy}'s (gateway-ingest keys records {@code account_id/event_id}).
   */
  private static SentEvent sentinelAfter(SentEvent copy, int partitions, LocalDate today) {
    int target = partition(copy.account() + "/" + copy.eventId(), partitions);
    for (int i = 0; ; i++) {
      String id = "sentinel-" + i;
      if (partition(ACCOUNT + "/" + id, partitions) == target) {
        return event(id, "sentinel", today.minusDays(1), 77);
      }
    }
  }

  private static int partition(String key, int partitions) {
    return BuiltInPartitioner.partitionForKey(key.getBytes(StandardCharsets.UTF_8), partitions);
  }

  private static int partitions(LocalStack.Endpoints stack) throws Exception {
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", stack.kafkaBootstrapServers()))) {
      return admin
          .describeTopics(List.of(EVENTS_TOPIC))
          .allTopicNames()
          .get()
          .get(EVENTS_TOPIC)
          .partitions()
          .size();
    }
  }

  private static void post(LocalStack.Endpoints stack, List<SentEvent> events) throws Exception {
    HttpResponse<String> response =
        ServiceApi.postEvents(
            stack.ingestUrl(), stack.ingestToken(), ExpectedActivity.requestBody(events));
    assertEquals(202, response.statusCode(), response.body());
  }

  /** Waits until the activity API by user answers what {@code sent} makes, then checks it all. */
  private static void awaitActivity(
      LocalStack.Endpoints stack, List<SentEvent> sent, LocalDate today) throws Exception {
    long distinct = sent.stream().map(SentEvent::eventId).distinct().count();
    Await.until(
        "the activity API counts " + distinct + " requests",
        () -> requests(stack) >= distinct,
        Await.STALL);
    assertActivity(stack, sent, today);
  }

  private static void assertActivity(
      LocalStack.Endpoints stack, List<SentEvent> sent, LocalDate today) throws Exception {
    ExpectedActivity.assertAnswer(
        ExpectedActivity.of(sent, ACCOUNT, today, true, false, e -> true),
        activity(stack).get("data"),
        "group_by=user");
  }

  private static long requests(LocalStack.Endpoints stack) {
    try {
      long total = 0;
      for (JsonNode item : activity(stack).get("data")) {
        total += item.get("requests").asLong();
      }
      return total;
    } catch (Exception e) {
      return -1;
    }
  }

  private static JsonNode activity(LocalStack.Endpoints stack) throws Exception {
    HttpResponse<String> response =
        ServiceApi.activity(stack.queryUrl(), stack.managementKey(), "group_by=user");
    assertEquals(200, response.statusCode(), response.body());
    return JSON.readTree(response.body());
  }

  /**
   * Reads the events topic from its start: every record, from either run, names a schema id the
   * registry still knows and decodes with it, as the stream must when it reads them again.
   */
  private static void assertEveryRecordResolvesInTheRegistry(
      LocalStack.Endpoints stack, int expected) throws Exception {
    SchemaRegistryClient registry =
        new SchemaRegistryClient(new RegistryConfig(stack.registryUrl()));
    ConfluentAvroDeserializer<UsageEvent> deserializer = UsageEventSerde.deserializer(registry);
    Set<Integer> ids = new TreeSet<>();
    Set<String> decoded = new TreeSet<>();
    int records = 0;
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(
            Map.of("bootstrap.servers", stack.kafkaBootstrapServers()),
            new ByteArrayDeserializer(),
            new ByteArrayDeserializer())) {
      List<TopicPartition> partitions = new ArrayList<>();
      for (int p = 0; p < partitions(stack); p++) {
        partitions.add(new TopicPartition(EVENTS_TOPIC, p));
      }
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
      while (records < expected && System.nanoTime() < deadline) {
        for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(500))) {
          records++;
          ids.add(ByteBuffer.wrap(record.value(), 1, 4).getInt());
          UsageEvent event = deserializer.deserialize(EVENTS_TOPIC, record.value());
          decoded.add(event.getEventId().toString());
        }
      }
    }
    assertEquals(expected, records, "records on the events topic");
    assertEquals(expected - 1, decoded.size(), "distinct events decoded (one copy posted twice)");
    for (int id : ids) {
      assertTrue(registry.schemaById(id) != null, "schema id " + id + " resolves");
    }
  }
}
