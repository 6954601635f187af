package io.tallyhouse.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The local servers are real and survive restarts with their data. */
class LocalServersIntegrationTest {

  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @Test
  void kafkaKeepsRecordsAcrossARestart(@TempDir Path dir) throws Exception {
    LocalKafka kafka = LocalKafka.start(dir, Ports.freePort(), Ports.freePort());
    try {
      send(kafka, "before");
      kafka.restart();
      send(kafka, "after");
      assertEquals(List.of("before", "after"), readAll(kafka, 2));
    } finally {
      kafka.stop();
    }
  }

  @Test
  void clickHouseKeepsTablesAcrossARestart(@TempDir Path dir) throws Exception {
    ClickHouseServer server = ClickHouseServer.start(dir, Ports.freePort(), Ports.freePort());
    try {
      post(server, "CREATE TABLE t (x UInt8) ENGINE = MergeTree ORDER BY x");
      post(server, "INSERT INTO t VALUES (7)");
      server.restart();
      assertEquals("7\n", post(server, "SELECT sum(x) FROM t"));
    } finally {
      server.stop();
    }
    assertTrue(Files.exists(dir.resolve("config.xml")));
  }

  @Test
  void sharedRegistryAnswersWithBackwardCompatibility() throws Exception {
    HttpResponse<String> response =
        HTTP.send(
            HttpRequest.newBuilder(URI.create(Infra.registry().url() + "/config")).GET().build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(200, response.statusCode());
    assertTrue(response.body().contains("BACKWARD"), response.body());
  }

  @Test
  void registryOnADataDirectoryKeepsSubjectsVersionsAndIdsAcrossARestart(@TempDir Path dir)
      throws Exception {
    int port = Ports.freePort();
    String first =
        "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"int\"}]}";
    String second =
        "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"int\"},"
            + "{\"name\":\"b\",\"type\":\"string\",\"default\":\"\"}]}";
    String otherSubject = "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"X\"]}";
    ApicurioRegistry registry = ApicurioRegistry.start(Infra.apicurioHome(), port, dir);
    String firstId;
    String secondId;
    String otherId;
    try {
      firstId = register(registry, "r-value", first);
      secondId = register(registry, "r-value", second);
      otherId = register(registry, "e-value", otherSubject);
    } finally {
      registry.stop();
    }

    registry = ApicurioRegistry.start(Infra.apicurioHome(), port, dir);
    try {
      assertEquals("[1,2]", get(registry, "/subjects/r-value/versions"));
      assertTrue(get(registry, "/subjects/r-value/versions/1").contains("\"id\":" + firstId));
      assertTrue(get(registry, "/subjects/r-value/versions/2").contains("\"id\":" + secondId));
      assertTrue(get(registry, "/schemas/ids/" + otherId).contains("\\\"E\\\""));
      assertTrue(get(registry, "/schemas/ids/" + secondId).contains("\\\"b\\\""));
      // A schema registered after the restart gets a new id, never one already on records.
      String third =
          register(
              registry, "e-value", "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"X\",\"Y\"]}");
      assertTrue(!List.of(firstId, secondId, otherId).contains(third), "a reused id: " + third);
    } finally {
      registry.stop();
    }
  }

  @Test
  void unknownBackendSettingIsRefused() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Infra.chooseBackend("podman"));
    assertTrue(e.getMessage().contains("local, docker or auto"));
    assertEquals(Backend.LOCAL, Infra.chooseBackend("local"));
  }

  @Test
  void missingApicurioArchiveNamesTheFix(@TempDir Path dir) {
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () -> ApicurioRegistry.start(dir.resolve("nowhere"), Ports.freePort()));
    assertTrue(e.getMessage().contains("Fix:"), e.getMessage());
  }

  /** Registers {@code schema} under {@code subject}; returns its id. */
  private static String register(ApicurioRegistry registry, String subject, String schema)
      throws Exception {
    String body = "{\"schema\":\"" + schema.replace("\"", "\\\"") + "\"}";
    HttpResponse<String> response =
        HTTP.send(
            HttpRequest.newBuilder(
                    URI.create(registry.url() + "/subjects/" + subject + "/versions"))
                .header("Content-Type", "application/vnd.schemaregistry.v1+json")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(200, response.statusCode(), response.body());
    return response.body().replaceAll("[^0-9]", "");
  }

  private static String get(ApicurioRegistry registry, String path) throws Exception {
    HttpResponse<String> response =
        HTTP.send(
            HttpRequest.newBuilder(URI.create(registry.url() + path)).GET().build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(200, response.statusCode(), path + ": " + response.body());
    return response.body();
  }

  private static String post(ClickHouseServer server, String sql) throws Exception {
    HttpResponse<String> response =
        HTTP.send(
            HttpRequest.newBuilder(URI.create(server.httpUrl() + "/"))
                .POST(HttpRequest.BodyPublishers.ofString(sql))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(200, response.statusCode(), response.body());
    return response.body();
  }

  private static void send(LocalKafka kafka, String value) throws Exception {
    Properties props = new Properties();
    props.put("bootstrap.servers", kafka.bootstrapServers());
    props.put("acks", "all");
    try (KafkaProducer<String, String> producer =
        new KafkaProducer<>(props, new StringSerializer(), new StringSerializer())) {
      producer.send(new ProducerRecord<>("testkit-topic", 0, "k", value)).get();
    }
  }

  private static List<String> readAll(LocalKafka kafka, int expected) {
    Map<String, Object> props =
        Map.of(
            "bootstrap.servers",
            kafka.bootstrapServers(),
            "group.id",
            "testkit",
            "auto.offset.reset",
            "earliest");
    List<String> values = new ArrayList<>();
    try (KafkaConsumer<String, String> consumer =
        new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer())) {
      consumer.subscribe(List.of("testkit-topic"));
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (values.size() < expected && System.nanoTime() < deadline) {
        for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(200))) {
          values.add(record.value());
        }
      }
    }
    return values;
  }
}
