package io.tallyhouse.query;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tallyhouse.common.auth.CredentialKind;
import io.tallyhouse.common.auth.CredentialStore;
import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.ClickHouseConfig;
import io.tallyhouse.common.clickhouse.SqlLiteral;
import io.tallyhouse.testkit.ClickHouseEndpoint;
import io.tallyhouse.testkit.Infra;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The answers are the same before ClickHouse merges the parts of usage_daily and after (OPTIMIZE
 * ... FINAL).
 */
class MergeIndependenceIntegrationTest {

  private static final String KEY = "ab".repeat(32);

  @Test
  void activityAndExportAnswerTheSameBeforeAndAfterTheMerge(@TempDir Path dir) throws Exception {
    ClickHouseEndpoint endpoint = Infra.clickhouse();
    String database = QueryTestEnv.newDatabase("mi");
    CredentialStore keys = new CredentialStore(dir.resolve("keys.jsonl"));
    String key = QueryTestEnv.newKey(keys, CredentialKind.MANAGEMENT, "acme");
    Map<String, String> env = QueryTestEnv.of(endpoint, database, keys.file());
    // ClickHouse's answers are under test here: with the cache the second round would come from
    // memory (an OPTIMIZE is
    // no INSERT, so it moves no change marker). CompletedDayCacheIntegrationTest holds the cache to
    // the SQL answers.
    env.put("CACHE_MAX_BYTES", "0");
    try (ActivityServer server =
            ActivityServer.start(
                QueryTestEnv.config(env),
                Clock.fixed(Instant.parse("2026-11-22T08:00:00Z"), ZoneOffset.UTC));
        ClickHouse clickHouse =
            new ClickHouse(
                new ClickHouseConfig(
                    endpoint.httpUrl(), endpoint.user(), endpoint.password(), database))) {
      // Versions of two groups, each insert its own part, the highest version not always the last
      // one written.
      insert(clickHouse, row("u1", 1, "0.5", 1), row("u2", 1, "1.000000000001", 1));
      insert(clickHouse, row("u1", 3, "1.75", 3));
      insert(clickHouse, row("u1", 2, "1.25", 2), row("u2", 2, "2.000000000002", 2));
      insert(clickHouse, row("u2", 1, "1.000000000001", 1));
      clickHouse.insertJsonEachRow(
          "api_key_hashes",
          ("{\"account_id\":\"acme\",\"api_key_hash\":\"" + KEY + "\"}\n")
              .getBytes(StandardCharsets.UTF_8));
      assertTrue(
          count(clickHouse, "SELECT count() AS n FROM usage_daily") > 2,
          "several parts and versions");

      List<String> queries =
          List.of(
              "/api/v1/activity",
              "/api/v1/activity?group_by=user,api_key",
              "/api/v1/activity?api_key_hash=" + KEY,
              "/api/v1/activity/export?from=2026-11-20&to=2026-11-21",
              "/api/v1/activity/export?from=2026-11-20&to=2026-11-21&group_by=date,user,api_key,endpoint&format=csv");
      List<String> before = answers(server.port(), key, queries);

      clickHouse.execute("OPTIMIZE TABLE usage_daily FINAL");
      assertEquals(
          2,
          count(clickHouse, "SELECT count() AS n FROM usage_daily"),
          "merged to one row per group");

      assertEquals(before, answers(server.port(), key, queries));
      assertTrue(
          before.get(1).contains("\"usage\":1.75") && before.get(1).contains("\"requests\":3"),
          before.get(1));
      clickHouse.execute("DROP DATABASE IF EXISTS " + SqlLiteral.identifier(database));
    }
  }

  private static List<String> answers(int port, String key, List<String> queries) throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    List<String> bodies = new java.util.ArrayList<>();
    for (String query : queries) {
      HttpResponse<String> response =
          http.send(
              HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + query))
                  .header("Authorization", "Bearer " + key)
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertEquals(200, response.statusCode(), query + " -> " + response.body());
      bodies.add(response.body());
    }
    return bodies;
  }

  private static long count(ClickHouse clickHouse, String sql) {
    return clickHouse.query(sql).get(0).get("n").asLong();
  }

  private static void insert(ClickHouse clickHouse, String... rows) {
    clickHouse.insertJsonEachRow(
        "usage_daily", (String.join("\n", rows) + "\n").getBytes(StandardCharsets.UTF_8));
  }

  private static String row(String user, long requests, String usage, long version) {
    return "{\"account_id\":\"acme\",\"date\":\"2026-11-21\",\"api_key_hash\":\""
        + KEY
        + "\",\"user_id\":\""
        + user
        + "\",\"endpoint_id\":\"OpenAI/gpt\",\"model\":\"gpt\",\"model_permaslug\":\"gpt\",\"provider_name\":\"OpenAI\","
        + "\"requests\":"
        + requests
        + ",\"prompt_tokens\":"
        + 10 * requests
        + ",\"completion_tokens\":"
        + requests
        + ",\"reasoning_tokens\":0,\"cached_tokens\":0,\"usage\":"
        + usage
        + ",\"byok_usage_inference\":0,"
        + "\"byok_requests\":0,\"version\":"
        + version
        + ",\"updated_at\":\"2026-11-21 12:00:00\"}";
  }
}
