package io.tallyhouse.bench;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The stream benches' load phase ({@link StreamBench}, {@link StreamClusterBench}): the events the
 * stream then consumes as a backlog, posted through gateway-ingest before the stream starts.
 */
final class StreamPreload {

  private StreamPreload() {}

  /** Realistic distinct events of the last 24 hours, posted in arrays of 500. */
  static void preload(int port, String token, int events) throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    Random random = new Random(3);
    Instant now = Instant.now();
    List<CompletableFuture<HttpResponse<String>>> pending = new ArrayList<>();
    for (int first = 0; first < events; first += 500) {
      StringBuilder body = new StringBuilder("[");
      for (int i = first; i < Math.min(events, first + 500); i++) {
        body.append(i == first ? "" : ",")
            .append(
                BenchSupport.event(random, "p-" + i, now.minusMillis(random.nextInt(86_400_000))));
      }
      pending.add(
          http.sendAsync(
              post(port, token, body.append(']').toString()),
              HttpResponse.BodyHandlers.ofString()));
      if (pending.size() == 8) {
        expectAccepted(pending);
      }
    }
    expectAccepted(pending);
  }

  private static void expectAccepted(List<CompletableFuture<HttpResponse<String>>> pending)
      throws Exception {
    for (var response : pending) {
      HttpResponse<String> r = response.get(60, TimeUnit.SECONDS);
      if (r.statusCode() != 202) {
        throw new IllegalStateException(
            "ingest refused the preload: " + r.statusCode() + " " + r.body());
      }
    }
    pending.clear();
  }

  /** {@code POST /v1/events} of {@code body} (a JSON array of events) with the ingest key. */
  static HttpRequest post(int port, String token, String body) {
    return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/events"))
        .header("Authorization", "Bearer " + token)
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body))
        .build();
  }
}
