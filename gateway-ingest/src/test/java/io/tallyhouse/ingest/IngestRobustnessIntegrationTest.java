package io.tallyhouse.ingest;

import static io.tallyhouse.ingest.IngestHarness.event;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.tallyhouse.common.auth.CredentialKind;
import io.tallyhouse.common.auth.Secrets;
import io.tallyhouse.common.http.HttpServers;
import io.tallyhouse.ingest.http.IngestHttpServer;
import io.tallyhouse.ingest.validation.EventJson;
import io.tallyhouse.ingest.validation.EventValidator;
import io.tallyhouse.ingest.validation.JsonProblemTest;
import io.tallyhouse.schemas.contract.EventRules;
import io.tallyhouse.testkit.Infra;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile and random input never gets a 5xx and never leaks onto the topic; the OpenAPI document is
 * the truth.
 */
class IngestRobustnessIntegrationTest {

  private static IngestHarness harness;
  private static IngestServer server;

  @BeforeAll
  static void start(@TempDir Path dir) {
    harness = new IngestHarness(dir);
    server =
        IngestServer.start(
            IngestHarness.config(
                harness.env(Infra.kafka().bootstrapServers(), String.valueOf(5 * 1024 * 1024))),
            Clock.systemUTC());
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  @Test
  void randomlyMutatedRequestsNeverGet5xxAndOnlyAcceptedEventsReachTheTopic(@TempDir Path dir)
      throws Exception {
    // A topic of its own, so only this test's requests are on it.
    IngestHarness fuzz = new IngestHarness(dir);
    try (IngestServer fuzzed =
        IngestServer.start(
            IngestHarness.config(
                fuzz.env(Infra.kafka().bootstrapServers(), String.valueOf(5 * 1024 * 1024))),
            Clock.systemUTC())) {
      fuzz(fuzz, fuzzed);
    }
  }

  private static void fuzz(IngestHarness harness, IngestServer server) throws Exception {
    Random random = new Random(20261122);
    Set<String> accepted = new HashSet<>();
    Map<Integer, Integer> statuses = new java.util.TreeMap<>();
    int requests = 2000;
    for (int r = 0; r < requests; r++) {
      List<String> ids = new ArrayList<>();
      int size = 1 + random.nextInt(3);
      ArrayNode batch = EventJson.MAPPER.createArrayNode();
      for (int i = 0; i < size; i++) {
        String id = "fuzz-" + r + "-" + i;
        ids.add(id);
        batch.add(EventJson.MAPPER.readTree(event(id, "acme")));
      }
      String body = mutate(random, batch);
      HttpResponse<String> response = harness.post(server.port(), body);
      statuses.merge(response.statusCode(), 1, Integer::sum);
      assertTrue(response.statusCode() < 500, "5xx for " + body + " -> " + response.body());
      if (response.statusCode() == 202) {
        // What was accepted is what the body held after mutation: read the ids back from it.
        JsonNode sent = EventJson.MAPPER.readTree(body);
        for (JsonNode e : sent.isArray() ? sent : EventJson.MAPPER.createArrayNode().add(sent)) {
          accepted.add(e.get("account_id").asText() + "/" + e.get("event_id").asText());
        }
      } else {
        assertTrue(
            response.body().startsWith("{\"error\":{\"code\":" + response.statusCode()),
            response.body());
      }
    }
    assertTrue(
        statuses.getOrDefault(202, 0) > 100 && statuses.getOrDefault(400, 0) > 100,
        statuses.toString());
    List<String> onTopic =
        IngestHarness.keys(harness.readTopic(Infra.kafka().bootstrapServers(), accepted.size()));
    // Copies inside one accepted request are all written; compare as sets, and nothing else may be
    // there.
    assertEquals(new TreeSet<>(accepted), new TreeSet<>(onTopic));
  }

  /**
   * One random damage to a valid batch: a field removed, retyped or replaced, or the JSON text
   * itself broken.
   */
  private static String mutate(Random random, ArrayNode batch) {
    ObjectNode target = (ObjectNode) batch.get(random.nextInt(batch.size()));
    List<String> fields = new ArrayList<>();
    for (Iterator<String> it = target.fieldNames(); it.hasNext(); ) {
      fields.add(it.next());
    }
    String field = fields.get(random.nextInt(fields.size()));
    JsonNode[] values = {
      EventJson.MAPPER.getNodeFactory().nullNode(),
      EventJson.MAPPER.getNodeFactory().textNode(""),
      EventJson.MAPPER.getNodeFactory().textNode("x".repeat(random.nextInt(400))),
      EventJson.MAPPER.getNodeFactory().numberNode(random.nextLong()),
      EventJson.MAPPER
          .getNodeFactory()
          .numberNode(new java.math.BigDecimal("1e-" + random.nextInt(20))),
      EventJson.MAPPER.getNodeFactory().booleanNode(random.nextBoolean()),
      EventJson.MAPPER.getNodeFactory().textNode("' OR 1=1 --\u0000\u202e😀"),
      EventJson.MAPPER.createObjectNode().put("nested", 1),
      EventJson.MAPPER.createArrayNode().add(1),
      EventJson.MAPPER.getNodeFactory().textNode("NaN"),
      EventJson.MAPPER.getNodeFactory().textNode("-0.0"),
      EventJson.MAPPER.getNodeFactory().textNode("2026-13-45T99:99:99Z")
    };
    switch (random.nextInt(6)) {
      case 0 -> target.remove(field);
      case 1, 2 -> target.set(field, values[random.nextInt(values.length)]);
      case 3 -> {
        // Keep it valid: the accepted path must be exercised too.
      }
      case 4 -> {
        String text = batch.toString();
        int cut = random.nextInt(text.length());
        return text.substring(0, cut) + (char) (32 + random.nextInt(95)) + text.substring(cut + 1);
      }
      default -> {
        String text = batch.toString();
        return text.substring(0, random.nextInt(text.length()));
      }
    }
    return random.nextBoolean() && batch.size() == 1 ? batch.get(0).toString() : batch.toString();
  }

  @Test
  void hostileJsonIsRefusedWithA400InTheApisOwnWords() throws Exception {
    String valid = event("hostile-1", "acme");
    Map<String, String> expected =
        Map.of(
            valid.replace("\"cost\":4.3022187e-05", "\"cost\":1,\"cost\":1000"),
            "duplicate key \"cost\"",
            "["
                + valid
                + ","
                + valid.replace("\"user\":\"zoë\"", "\"user\":\"a\",\"user\":\"b\"")
                + "]",
            "duplicate key \"user\"",
            "[".repeat(5000) + "]".repeat(5000),
            "nesting deeper than " + EventJson.MAX_NESTING + " levels",
            valid.replace("4.3022187e-05", "1".repeat(5000)),
            "a number longer than 1000 characters",
            "{\"event_id\":",
            "Malformed JSON: the text ends inside a value at line 1 column 13",
            "{\"event_id\" \"x\"}",
            "Malformed JSON at line 1 column 13");
    for (Map.Entry<String, String> hostile : expected.entrySet()) {
      HttpResponse<String> response = harness.post(server.port(), hostile.getKey());
      assertEquals(400, response.statusCode(), response.body());
      String message = EventJson.MAPPER.readTree(response.body()).at("/error/message").asText();
      assertTrue(message.contains(hostile.getValue()), message);
      assertTrue(!JsonProblemTest.INTERNALS.matcher(response.body()).find(), response.body());
    }
  }

  @Test
  void aGzipBombIsRefusedWithoutInflatingIt() throws Exception {
    // 200 MiB of zeros compress to about 200 KiB; the limit of 5 MiB applies to the decoded bytes.
    ByteArrayOutputStream zipped = new ByteArrayOutputStream();
    try (GZIPOutputStream out = new GZIPOutputStream(zipped)) {
      byte[] zeros = new byte[1024 * 1024];
      out.write("[".getBytes(StandardCharsets.UTF_8));
      for (int i = 0; i < 200; i++) {
        out.write(zeros);
      }
    }
    // Bytes allocated by every thread of this JVM (the service runs here): unlike the heap in use,
    // this does not
    // depend on when the collector runs. Inflating the bomb would allocate at least its 200 MiB.
    long allocatedBefore = allocatedBytes();
    HttpResponse<String> response =
        IngestHarness.post(
            server.port(), harness.token, "application/json", zipped.toByteArray(), true);
    assertEquals(413, response.statusCode(), response.body());
    assertTrue(response.body().contains("\"code\":413"), response.body());
    long allocated = allocatedBytes() - allocatedBefore;
    assertTrue(
        allocated < 100L * 1024 * 1024, "the bomb was inflated: " + allocated + " bytes allocated");
  }

  private static long allocatedBytes() {
    com.sun.management.ThreadMXBean threads =
        (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
    long total = 0;
    for (long allocated : threads.getThreadAllocatedBytes(threads.getAllThreadIds())) {
      total += Math.max(0, allocated);
    }
    return total;
  }

  @Test
  void theOpenApiDocumentIsServedAndMatchesTheImplementation() throws Exception {
    HttpResponse<String> served =
        IngestHarness.HTTP.send(
            HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + server.port() + "/openapi.yaml"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(200, served.statusCode());
    assertEquals(
        new String(
            HttpServers.openApiDocument(IngestHttpServer.class, IngestHttpServer.OPENAPI),
            StandardCharsets.UTF_8),
        served.body());
    JsonNode doc = new ObjectMapper(new YAMLFactory()).readTree(served.body());
    assertTrue(doc.get("openapi").asText().startsWith("3."));

    JsonNode event = doc.at("/components/schemas/UsageEvent");
    List<String> documented = new ArrayList<>();
    event.get("properties").fieldNames().forEachRemaining(documented::add);
    assertEquals(EventRules.FIELDS, documented);
    List<String> required = new ArrayList<>();
    event.get("required").forEach(n -> required.add(n.asText()));
    assertEquals(EventValidator.REQUIRED, required);
    assertEquals(
        1000,
        doc.at(
                "/paths/~1v1~1events/post/requestBody/content/application~1json/schema/oneOf/1/maxItems")
            .asInt());

    // Every documented operation exists (no 404/405), and every answer the endpoint gives is
    // documented.
    for (Iterator<Map.Entry<String, JsonNode>> paths = doc.get("paths").fields();
        paths.hasNext(); ) {
      Map.Entry<String, JsonNode> path = paths.next();
      for (Iterator<String> methods = path.getValue().fieldNames(); methods.hasNext(); ) {
        String method = methods.next().toUpperCase();
        HttpResponse<String> answer =
            IngestHarness.HTTP.send(
                HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + server.port() + path.getKey()))
                    .method(method, HttpRequest.BodyPublishers.noBody())
                    .build(),
                HttpResponse.BodyHandlers.ofString());
        assertTrue(
            answer.statusCode() != 404 && answer.statusCode() != 405, method + " " + path.getKey());
        assertTrue(
            path.getValue()
                .get(method.toLowerCase())
                .get("responses")
                .has(String.valueOf(answer.statusCode())),
            method + " " + path.getKey() + " answered an undocumented " + answer.statusCode());
      }
    }
    Set<String> documentedCodes = new TreeSet<>();
    doc.at("/paths/~1v1~1events/post/responses")
        .fieldNames()
        .forEachRemaining(documentedCodes::add);
    Set<String> observed = new TreeSet<>();
    String valid = event("openapi-1", "acme");
    String management = Secrets.generate(CredentialKind.MANAGEMENT.secretPrefix());
    harness.keys.add(management, CredentialKind.MANAGEMENT, "acme", List.of(), "test");
    observed.add(String.valueOf(harness.post(server.port(), valid).statusCode()));
    observed.add(String.valueOf(harness.post(server.port(), "[]").statusCode()));
    observed.add(String.valueOf(IngestHarness.post(server.port(), null, valid).statusCode()));
    observed.add(String.valueOf(IngestHarness.post(server.port(), management, valid).statusCode()));
    observed.add(
        String.valueOf(
            IngestHarness.post(
                    server.port(),
                    harness.token,
                    "text/plain",
                    valid.getBytes(StandardCharsets.UTF_8),
                    false)
                .statusCode()));
    observed.add(
        String.valueOf(
            IngestHarness.post(
                    server.port(),
                    harness.token,
                    "application/json",
                    new byte[6 * 1024 * 1024],
                    false)
                .statusCode()));
    // 503 needs Kafka down: IngestServerIntegrationTest covers it.
    observed.add("503");
    assertEquals(documentedCodes, observed);
  }

  @Test
  void metricsCountAcceptedAndRejectedEvents() throws Exception {
    harness.post(server.port(), event("metrics-1", "acme"));
    harness.post(server.port(), "{");
    String metrics =
        IngestHarness.HTTP
            .send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/metrics"))
                    .build(),
                HttpResponse.BodyHandlers.ofString())
            .body();
    assertTrue(metrics.contains("ingest_events_accepted_total"), metrics);
    assertTrue(
        metrics.contains("ingest_requests_rejected_total{reason=\"malformed_json\"}"), metrics);
    assertTrue(metrics.contains("http_server_requests_seconds_bucket"), metrics);
    assertTrue(metrics.contains("ingest_in_flight_bytes"), metrics);
    assertTrue(!metrics.contains(harness.token), "no secret in metrics");
  }
}
