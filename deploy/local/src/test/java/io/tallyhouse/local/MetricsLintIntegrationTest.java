package io.tallyhouse.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tallyhouse.testkit.Promtool;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * What the three services serve on {@code /metrics}, after real work on the real servers, passes
 * {@code promtool check metrics} (help texts, counter suffixes, unit names) and holds the names
 * deploy/monitoring/METRICS.md promises, which the alert rules and the dashboard are written
 * against.
 */
class MetricsLintIntegrationTest {

  /**
   * HTTP/1.1, as Prometheus scrapes. Java's default asks for a cleartext HTTP/2 upgrade, and one
   * such scrape of activity-query once got no answer, its request timeout never firing, until CI
   * was killed 14 minutes later.
   */
  private static final HttpClient HTTP =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(5))
          .build();

  @Test
  void everyServiceServesMetricsThatPromtoolAcceptsWithTheCataloguedNames() throws Exception {
    String name = "metrics_" + Long.toHexString(System.currentTimeMillis());
    try (Pipeline pipeline = new Pipeline(name, Clock.systemUTC())) {
      String token = pipeline.newIngestToken();
      String managementKey = pipeline.newManagementKey("acme");

      int events = 20;
      assertEquals(202, pipeline.post(token, events(events)).statusCode());
      assertEquals(400, pipeline.post(token, "[{\"event_id\":").statusCode());
      assertEquals(401, pipeline.post("th_it_unknown", events(1)).statusCode());
      assertEquals(events, pipeline.awaitCountedRequests(events));
      assertEquals(200, pipeline.activity(managementKey, "").statusCode());
      assertEquals(401, pipeline.activity("th_mk_unknown", "").statusCode());

      Map<String, String> scraped = new LinkedHashMap<>();
      scraped.put("gateway-ingest", metrics(pipeline.ingest.port()));
      scraped.put("usage-stream", metrics(pipeline.stream.port()));
      scraped.put("activity-query", metrics(pipeline.query.port()));

      List<String> problems = new ArrayList<>();
      scraped.forEach(
          (service, text) -> {
            Promtool.Result lint = Promtool.checkMetrics(text);
            if (!lint.clean()) {
              problems.add(
                  service
                      + ": promtool check metrics (exit "
                      + lint.exitCode()
                      + "):\n"
                      + lint.output());
            }
          });
      assertTrue(problems.isEmpty(), String.join("\n", problems));

      scraped.forEach(
          (service, text) -> {
            assertSeries(
                text, "tallyhouse_build_info\\{service=\"" + service + "\",version=\"[^\"]+\"} 1");
            assertSeries(text, "jvm_memory_used_bytes\\{.*");
            assertSeries(text, "process_cpu_usage .*");
          });

      String ingest = scraped.get("gateway-ingest");
      assertSeries(ingest, "tallyhouse_dependency_up\\{dependency=\"kafka\"} 1\\.0");
      assertSeries(ingest, "tallyhouse_dependency_up\\{dependency=\"schema_registry\"} 1\\.0");
      assertSeries(ingest, "ingest_events_accepted_total " + events + "\\.0");
      assertSeries(ingest, "ingest_requests_rejected_total\\{reason=\"malformed_json\"} 1\\.0");
      assertSeries(ingest, "ingest_requests_rejected_total\\{reason=\"unauthorized\"} 1\\.0");
      assertSeries(ingest, "ingest_producer_errors_total 0\\.0");
      assertSeries(ingest, "ingest_in_flight_bytes .*");
      assertSeries(
          ingest, "http_server_requests_seconds_count\\{route=\"/v1/events\",status=\"202\"} 1");
      assertSeries(
          ingest,
          "http_server_requests_seconds_bucket\\{route=\"/v1/events\",status=\"400\",le=\"\\+Inf\"} 1");
      assertSeries(ingest, "keys_file_readable 1\\.0");
      assertSeries(ingest, "keys_file_reload_failures_total 0\\.0");
      assertSeries(ingest, "keys_file_malformed_lines 0\\.0");

      String stream = scraped.get("usage-stream");
      assertSeries(stream, "tallyhouse_dependency_up\\{dependency=\"clickhouse\"} 1\\.0");
      assertSeries(stream, "tallyhouse_dependency_up\\{dependency=\"schema_registry\"} 1\\.0");
      assertSeries(stream, "stream_clickhouse_rows_written_total [1-9].*");
      assertSeries(stream, "stream_clickhouse_insert_failures_total 0\\.0");
      assertSeries(stream, "stream_dead_lettered_records_total 0\\.0");
      assertSeries(stream, "stream_thread_failures_total 0\\.0");
      assertSeries(stream, "stream_writer_restarts_total 0\\.0");
      assertSeries(stream, "stream_writer_commits_abandoned_total 0\\.0");
      assertSeries(stream, "stream_writer_partitions_with_deleted_records_total 0\\.0");
      assertSeries(stream, "stream_writer_assigned_partitions [1-9].*");
      assertSeries(stream, "stream_freshness_seconds_count [1-9][0-9]*");
      assertSeries(stream, "stream_freshness_seconds_bucket\\{le=\"0\\.5\"} [0-9]+");
      assertSeries(stream, "stream_freshness_seconds_bucket\\{le=\"3600\\.0\"} [1-9][0-9]*");
      assertSeries(stream, "stream_freshness_last_seconds [0-9.E-]+");
      assertSeries(
          stream,
          "stream_consumer_lag_records\\{consumer=\"rollup\",partition=\"[0-9]+\",topic=\""
              + name
              + "-events\"} [0-9.]+");
      assertSeries(
          stream,
          "stream_consumer_lag_records\\{consumer=\"writer\",partition=\"[0-9]+\",topic=\""
              + name
              + "-events-distinct\"} [0-9.]+");
      assertSeries(stream, "tallyhouse_dependency_up\\{dependency=\"kafka\"} 1\\.0");

      String query = scraped.get("activity-query");
      assertSeries(query, "tallyhouse_dependency_up\\{dependency=\"clickhouse\"} 1\\.0");
      assertSeries(
          query,
          "http_server_requests_seconds_count\\{route=\"/api/v1/activity\",status=\"200\"} 1");
      assertSeries(
          query,
          "http_server_requests_seconds_count\\{route=\"/api/v1/activity\",status=\"401\"} 1");
      // ServiceApi's client asks for a cleartext HTTP/2 upgrade, as Java's HttpClient does by
      // default: an answer sent whole is counted with its status even so.
      assertFalse(query.contains("status=\"aborted\""), query);
      assertSeries(query, "activity_clickhouse_query_seconds_count\\{query=\"[a-z_]+\"} .*");
      assertSeries(
          query, "activity_cache_answers_seconds_bucket\\{result=\"[a-z]+\",le=\"\\+Inf\"} .*");
      assertSeries(query, "activity_cache_entries .*");
      assertSeries(query, "activity_cache_bytes .*");
      assertSeries(query, "activity_cache_poll_age_seconds .*");
      assertSeries(query, "activity_cache_evictions_total\\{reason=\"size\"} .*");
      assertSeries(query, "activity_cache_invalidations_total .*");
      assertSeries(query, "activity_cache_loaded_rows_total .*");
      assertSeries(query, "activity_cache_poll_failures_total .*");
      assertSeries(query, "activity_cache_warmup_accounts\\{progress=\"loaded\"} .*");
      assertSeries(query, "activity_cache_warmup_accounts\\{progress=\"planned\"} .*");
      assertSeries(query, "activity_cache_warmup_bytes .*");
      assertSeries(query, "activity_cache_warmup_done 1\\.0");
      assertSeries(query, "activity_cache_warmup_seconds .*");
      assertSeries(query, "activity_cache_warmup_failures_total .*");
      assertSeries(query, "activity_exports_in_progress 0\\.0");
      assertSeries(query, "activity_export_refusals_total\\{limit=\"account\"} 0\\.0");
      assertSeries(query, "keys_file_readable 1\\.0");
      assertSeries(query, "keys_file_reload_failures_total .*");
    }
  }

  /** {@code count} events of one account, received now, for yesterday (visible to the API). */
  private static String events(int count) {
    Instant yesterday = Instant.now().minus(Duration.ofDays(1));
    StringBuilder body = new StringBuilder("[");
    for (int i = 0; i < count; i++) {
      body.append(i == 0 ? "" : ",")
          .append("{\"event_id\":\"m-")
          .append(i)
          .append("\",\"account_id\":\"acme\",\"api_key_hash\":\"")
          .append("ab".repeat(32))
          .append("\",\"model\":\"openai/gpt-4o\",\"provider_name\":\"OpenAI\",\"created_at\":\"")
          .append(yesterday.plusMillis(i))
          .append("\",\"cost\":\"0.000000000001\"}");
    }
    return body.append("]").toString();
  }

  private static String metrics(int port) throws Exception {
    // Bounded here as well: the client's own request timeout is what failed to fire.
    HttpResponse<String> response =
        HTTP.sendAsync(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
                    .timeout(Duration.ofSeconds(30))
                    .build(),
                HttpResponse.BodyHandlers.ofString())
            .get(2, TimeUnit.MINUTES);
    assertEquals(200, response.statusCode(), response.body());
    return response.body();
  }

  /** Fails unless a line of {@code text} matches {@code line} (a regular expression) whole. */
  private static void assertSeries(String text, String line) {
    assertTrue(
        Pattern.compile("(?m)^" + line + "$").matcher(text).find(),
        "no line matching " + line + " in:\n" + text);
  }
}
