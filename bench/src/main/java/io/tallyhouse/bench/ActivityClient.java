package io.tallyhouse.bench;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.HashMap;
import java.util.Map;

/**
 * What {@link QueryBench}'s phases ask the activity-query child apart from the load: one timed
 * request, and the service's own metrics.
 */
final class ActivityClient {

  /** The service's histogram of the cache's time per answer, labelled by result. */
  static final String CACHE_ANSWERS = "activity_cache_answers_seconds";

  private ActivityClient() {}

  /** One GET answered 200, in milliseconds. */
  static double timedGet(int port, String secret, String path) throws Exception {
    long start = System.nanoTime();
    HttpResponse<String> response =
        java.net.http.HttpClient.newBuilder()
            .version(java.net.http.HttpClient.Version.HTTP_1_1)
            .build()
            .send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                    .header("Authorization", "Bearer " + secret)
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    double millis = (System.nanoTime() - start) / 1e6;
    if (response.statusCode() != 200) {
      throw new IllegalStateException(path + " answered " + response.statusCode());
    }
    return millis;
  }

  /** The service's Prometheus metrics: each series (name with labels, as printed) to its value. */
  static Map<String, Double> scrape(int port) throws Exception {
    String text =
        java.net.http.HttpClient.newBuilder()
            .version(java.net.http.HttpClient.Version.HTTP_1_1)
            .build()
            .send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString())
            .body();
    Map<String, Double> series = new HashMap<>();
    for (String line : text.split("\n")) {
      int space = line.lastIndexOf(' ');
      if (!line.startsWith("#") && space > 0) {
        series.put(line.substring(0, space), Double.parseDouble(line.substring(space + 1)));
      }
    }
    return series;
  }
}
