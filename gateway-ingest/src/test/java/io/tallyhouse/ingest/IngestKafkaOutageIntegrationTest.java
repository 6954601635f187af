package io.tallyhouse.ingest;

import static io.tallyhouse.ingest.IngestHarness.event;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tallyhouse.testkit.LocalKafka;
import io.tallyhouse.testkit.Ports;
import java.io.ByteArrayOutputStream;
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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kafka that cannot take a write never stalls an event loop: with the broker down and no topic
 * metadata in the producer, requests get 503 with Retry-After while the service keeps answering,
 * and the in-flight limit counts decoded bytes.
 */
class IngestKafkaOutageIntegrationTest {

  /**
   * Long enough that every request below is still waiting for Kafka while the test looks at the
   * service.
   */
  private static final String PUBLISH_TIMEOUT_MS = "10000";

  private static final int IN_FLIGHT_LIMIT = 768 * 1024;

  @Test
  void brokerDownIdlePastMetadataExpiryTwentyPostsAllGet503WhileHealthKeepsAnswering(
      @TempDir Path dir) throws Exception {
    LocalKafka kafka = LocalKafka.start(dir.resolve("kafka"), Ports.freePort(), Ports.freePort());
    IngestHarness harness = new IngestHarness(dir);
    Map<String, String> env = harness.env(kafka.bootstrapServers(), "65536");
    env.put("PUBLISH_TIMEOUT_MS", PUBLISH_TIMEOUT_MS);
    // The producer drops an unused topic's metadata after 5 s (Kafka's minimum) at its next refresh
    // (every 0.5 s).
    env.put("KAFKA_PRODUCER_METADATA_MAX_IDLE_MS", "5000");
    env.put("KAFKA_PRODUCER_METADATA_MAX_AGE_MS", "500");
    IngestServer ingest = IngestServer.start(IngestHarness.config(env), Clock.systemUTC());
    List<String> acknowledged = new ArrayList<>();
    try {
      assertEquals(202, harness.post(ingest.port(), event("before-1", "acme")).statusCode());
      acknowledged.add("acme/before-1");
      // Being idle is the condition itself: no request for longer than the metadata expiry and a
      // few refreshes.
      Thread.sleep(5000 + 4 * 500);
      kafka.stop();

      List<String> bodies = new ArrayList<>();
      List<CompletableFuture<HttpResponse<String>>> posts = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        bodies.add(event("during-" + i, "acme"));
        posts.add(postAsync(ingest.port(), harness.token, bodies.get(i)));
      }
      long allBytes =
          bodies.stream().mapToLong(b -> b.getBytes(StandardCharsets.UTF_8).length).sum();
      CompletableFuture<Void> anyAnswered =
          CompletableFuture.anyOf(posts.toArray(CompletableFuture[]::new)).thenApply(r -> null);
      // The service answers /metrics while all 20 wait for Kafka: none of them holds an event loop.
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (inFlightBytes(ingest.port()) < allBytes
          && !anyAnswered.isDone()
          && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertTrue(!anyAnswered.isDone(), "a post was answered before all 20 were waiting for Kafka");
      assertEquals(allBytes, inFlightBytes(ingest.port()), "all 20 posts are in flight");
      int liveAnswers = 0;
      while (!anyAnswered.isDone() && liveAnswers < 5) {
        assertEquals(200, get(ingest.port(), "/health/live").statusCode());
        liveAnswers++;
      }
      assertEquals(5, liveAnswers, "/health/live answered while the posts were waiting for Kafka");

      for (CompletableFuture<HttpResponse<String>> post : posts) {
        HttpResponse<String> down = post.get(90, TimeUnit.SECONDS);
        assertEquals(503, down.statusCode(), down.body());
        assertEquals("1", down.headers().firstValue("Retry-After").orElse(""));
        assertTrue(down.body().contains("\"code\":503"), down.body());
      }

      kafka.restart();
      HttpResponse<String> back;
      int attempt = 0;
      deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
      do {
        String id = "after-" + attempt++;
        back = harness.post(ingest.port(), event(id, "acme"));
        if (back.statusCode() == 202) {
          acknowledged.add("acme/" + id);
        }
      } while (back.statusCode() != 202 && System.nanoTime() < deadline);
      assertEquals(202, back.statusCode(), back.body());
      // Exactly the acknowledged events: none of the twenty that got 503 was written later.
      assertEquals(
          acknowledged.stream().sorted().toList(),
          IngestHarness.keys(harness.readTopic(kafka.bootstrapServers(), acknowledged.size())));
    } finally {
      ingest.close();
      kafka.stop();
    }
  }

  @Test
  void aGzipBodyHoldsItsDecodedBytesAgainstTheInFlightLimit(@TempDir Path dir) throws Exception {
    LocalKafka kafka = LocalKafka.start(dir.resolve("kafka"), Ports.freePort(), Ports.freePort());
    IngestHarness harness = new IngestHarness(dir);
    Map<String, String> env =
        harness.env(kafka.bootstrapServers(), String.valueOf(5 * 1024 * 1024));
    env.put("PUBLISH_TIMEOUT_MS", PUBLISH_TIMEOUT_MS);
    env.put("MAX_IN_FLIGHT_BYTES", String.valueOf(IN_FLIGHT_LIMIT));
    IngestServer ingest = IngestServer.start(IngestHarness.config(env), Clock.systemUTC());
    try {
      // The producer has never sent: with the broker gone, the first request waits for metadata it
      // cannot get.
      kafka.stop();
      byte[] first = batch("first");
      byte[] second = batch("second");
      byte[] firstZipped = gzip(first);
      assertTrue(
          first.length + second.length > IN_FLIGHT_LIMIT
              && 2 * firstZipped.length < IN_FLIGHT_LIMIT / 10,
          first.length + " bytes decoded, " + firstZipped.length + " compressed");

      CompletableFuture<HttpResponse<String>> pending =
          IngestHarness.HTTP.sendAsync(
              request(ingest.port(), harness.token, firstZipped),
              HttpResponse.BodyHandlers.ofString());
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (inFlightBytes(ingest.port()) < first.length
          && !pending.isDone()
          && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertTrue(inFlightBytes(ingest.port()) >= first.length, "the decoded bytes are in flight");

      // Compressed, the two bodies are far below the limit; decoded, they are above it.
      HttpResponse<String> refused =
          IngestHarness.HTTP.send(
              request(ingest.port(), harness.token, gzip(second)),
              HttpResponse.BodyHandlers.ofString());
      assertEquals(503, refused.statusCode(), refused.body());
      assertEquals("1", refused.headers().firstValue("Retry-After").orElse(""));
      assertTrue(refused.body().contains("Too much data in flight"), refused.body());
      assertTrue(!pending.isDone(), "the first request was still waiting for Kafka");

      HttpResponse<String> down = pending.get(90, TimeUnit.SECONDS);
      assertEquals(503, down.statusCode(), down.body());
      assertTrue(down.body().contains("Kafka could not take the events"), down.body());
      deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (inFlightBytes(ingest.port()) != 0 && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertEquals(0, inFlightBytes(ingest.port()), "every byte is released once answered");
    } finally {
      ingest.close();
      kafka.stop();
    }
  }

  /** 1000 events with a long field: about 500 KB of JSON that gzip shrinks some fiftyfold. */
  private static byte[] batch(String prefix) {
    StringBuilder body = new StringBuilder("[");
    for (int i = 0; i < 1000; i++) {
      String event =
          event(prefix + "-" + i, "acme")
              .replace("\"user\":\"zoë\"", "\"user\":\"zoë\",\"app\":\"" + "a".repeat(256) + "\"");
      body.append(i == 0 ? "" : ",").append(event);
    }
    return body.append(']').toString().getBytes(StandardCharsets.UTF_8);
  }

  private static byte[] gzip(byte[] plain) throws Exception {
    ByteArrayOutputStream zipped = new ByteArrayOutputStream();
    try (GZIPOutputStream out = new GZIPOutputStream(zipped)) {
      out.write(plain);
    }
    return zipped.toByteArray();
  }

  private static HttpRequest request(int port, String token, byte[] gzipped) {
    return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/events"))
        .timeout(Duration.ofSeconds(90))
        .header("Authorization", "Bearer " + token)
        .header("Content-Type", "application/json")
        .header("Content-Encoding", "gzip")
        .POST(HttpRequest.BodyPublishers.ofByteArray(gzipped))
        .build();
  }

  private static CompletableFuture<HttpResponse<String>> postAsync(
      int port, String token, String json) {
    return IngestHarness.HTTP.sendAsync(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/events"))
            .timeout(Duration.ofSeconds(90))
            .header("Authorization", "Bearer " + token)
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(json))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static HttpResponse<String> get(int port, String path) throws Exception {
    return IngestHarness.HTTP.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
            .timeout(Duration.ofSeconds(30))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** The service's own {@code ingest_in_flight_bytes} gauge, read from /metrics. */
  private static long inFlightBytes(int port) throws Exception {
    for (String line : get(port, "/metrics").body().split("\n")) {
      if (line.startsWith("ingest_in_flight_bytes ")) {
        return (long) Double.parseDouble(line.substring(line.indexOf(' ') + 1).trim());
      }
    }
    throw new AssertionError("no ingest_in_flight_bytes in /metrics");
  }
}
