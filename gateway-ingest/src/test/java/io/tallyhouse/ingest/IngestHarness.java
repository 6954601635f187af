package io.tallyhouse.ingest;

import io.tallyhouse.common.auth.CredentialKind;
import io.tallyhouse.common.auth.CredentialStore;
import io.tallyhouse.common.auth.Secrets;
import io.tallyhouse.common.runtime.ServiceMain;
import io.tallyhouse.ingest.validation.EventValidatorTest;
import io.tallyhouse.testkit.Infra;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * What the ingest tests share: a key file with a token, the service's environment, requests,
 * reading the topic.
 */
final class IngestHarness {

  static final HttpClient HTTP = HttpClient.newHttpClient();

  final String topic = "ingest-it-" + UUID.randomUUID();
  final CredentialStore keys;
  final String token;

  IngestHarness(Path dir) {
    keys = new CredentialStore(dir.resolve("keys.jsonl"));
    token = Secrets.generate(CredentialKind.INGEST.secretPrefix());
    keys.add(token, CredentialKind.INGEST, null, List.of(), "test");
  }

  Map<String, String> env(String bootstrap, String maxBody) {
    Map<String, String> env = new HashMap<>();
    env.put("HTTP_PORT", "0");
    env.put("KAFKA_BOOTSTRAP_SERVERS", bootstrap);
    env.put("SCHEMA_REGISTRY_URL", Infra.registry().url());
    env.put("EVENTS_TOPIC", topic);
    env.put("EVENTS_PARTITIONS", "3");
    env.put("KEYS_FILE", keys.file().toString());
    env.put("MAX_BODY_BYTES", maxBody);
    env.put("PUBLISH_TIMEOUT_MS", "3000");
    return env;
  }

  /** The service's configuration from {@code env}, validated as at start-up. */
  static IngestConfig config(Map<String, String> env) {
    return ServiceMain.read(env, IngestConfig::read);
  }

  /** A valid event as JSON text, created a minute ago, with money in exponent form. */
  static String event(String eventId, String account) {
    return EventValidatorTest.valid()
        .put("event_id", eventId)
        .put("account_id", account)
        .put("created_at", Instant.now().minusSeconds(60).toString())
        .put("user", "zoë")
        .toString()
        .replace("\"cost\":0.000123", "\"cost\":4.3022187e-05");
  }

  static HttpResponse<String> post(
      int port, String auth, String contentType, byte[] body, boolean gzip) throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/events"))
            .timeout(Duration.ofSeconds(30))
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

  HttpResponse<String> post(int port, String json) throws Exception {
    return post(port, token, "application/json", json.getBytes(StandardCharsets.UTF_8), false);
  }

  /**
   * Every record of the topic (read_committed), reading on for 2 s after {@code atLeast} arrived.
   */
  List<ConsumerRecord<String, byte[]>> readTopic(String bootstrap, int atLeast) {
    Map<String, Object> props =
        Map.of(
            "bootstrap.servers",
            bootstrap,
            "group.id",
            "reader-" + UUID.randomUUID(),
            "auto.offset.reset",
            "earliest",
            "isolation.level",
            "read_committed");
    List<ConsumerRecord<String, byte[]>> out = new ArrayList<>();
    try (KafkaConsumer<String, byte[]> consumer =
        new KafkaConsumer<>(props, new StringDeserializer(), new ByteArrayDeserializer())) {
      consumer.subscribe(List.of(topic));
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      // Read on a little after the expected count, so an extra record would be caught too.
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

  static List<String> keys(List<ConsumerRecord<String, byte[]>> records) {
    return records.stream().map(ConsumerRecord::key).sorted().toList();
  }
}
