package io.tallyhouse.bench;

import static io.tallyhouse.bench.BenchSupport.JSON;

import com.fasterxml.jackson.databind.JsonNode;
import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.ClickHouseConfig;
import io.tallyhouse.query.activity.ActivityRepository;
import io.tallyhouse.query.activity.ActivityRequest;
import java.math.BigDecimal;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * {@link QueryBench}'s requests: the mix both load phases send (a fifth each of no filter, {@code
 * date=}, {@code api_key_hash=}, {@code user_id=} and {@code group_by=user}, accounts with the
 * events' skew), each with the statements the service runs for it, and the check that the service
 * and those statements agree before anything is timed.
 */
final class QueryMix {

  static final List<String> KINDS =
      List.of("none", "date", "api_key_hash", "user_id", "group_by_user");

  /**
   * One request of the mix: the API path with its query string, and the statements the service runs
   * for it.
   */
  record Probe(String kind, int account, String path, List<String> statements) {}

  private QueryMix() {}

  /**
   * {@code n} requests: a fifth of each kind, accounts with the events' skew. Every api_key_hash is
   * one the account reported; user ids follow the events' law, so now and then one matches nothing
   * (an empty answer, also real).
   */
  static List<Probe> probes(ClickHouse clickHouse, int accounts, LocalDate today, int n) {
    Map<String, List<String>> keysOf = new HashMap<>();
    for (JsonNode row : clickHouse.query("SELECT account_id, api_key_hash FROM api_key_hashes")) {
      keysOf
          .computeIfAbsent(row.get("account_id").asText(), k -> new ArrayList<>())
          .add(row.get("api_key_hash").asText());
    }
    Random random = new Random(5);
    List<Probe> probes = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      int a = ActivityFixture.account(random, accounts);
      String account = ActivityFixture.accountId(a);
      String kind = KINDS.get(i % KINDS.size());
      if (kind.equals("api_key_hash") && !keysOf.containsKey(account)) {
        kind = "none"; // only with a tiny bench.events: an account without any event
      }
      Map<String, List<String>> params = new LinkedHashMap<>();
      switch (kind) {
        case "date" ->
            params.put("date", List.of(today.minusDays(1 + random.nextInt(30)).toString()));
        case "api_key_hash" -> {
          List<String> keys = keysOf.get(account);
          params.put("api_key_hash", List.of(keys.get(random.nextInt(keys.size()))));
        }
        case "user_id" -> params.put("user_id", List.of(ActivityFixture.user(random, a)));
        case "group_by_user" -> params.put("group_by", List.of("user"));
        default -> {}
      }
      // The service's own parser and SQL builder: the direct side runs exactly its statements.
      ActivityRequest request = ActivityRequest.parse(params, today);
      List<String> statements = new ArrayList<>();
      request
          .apiKeyHash()
          .ifPresent(h -> statements.add(ActivityRepository.apiKeyKnownSql(account, h)));
      statements.add(ActivityRepository.activitySql(account, request));
      StringBuilder path = new StringBuilder("/api/v1/activity");
      params.forEach(
          (name, values) ->
              path.append(path.indexOf("?") < 0 ? '?' : '&')
                  .append(name)
                  .append('=')
                  .append(URLEncoder.encode(values.get(0), StandardCharsets.UTF_8)));
      probes.add(new Probe(kind, a, path.toString(), statements));
    }
    return probes;
  }

  /**
   * Fails unless the service and the direct SQL give the same items for {@code probes}: the same
   * count and the same totals of requests and usage. Guards against timing 401s or empty answers.
   * Returns how many were compared.
   */
  static int checkAgreement(
      List<Probe> probes, int port, Map<Integer, String> secrets, ClickHouseConfig config)
      throws Exception {
    java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
    try (ClickHouse clickHouse = new ClickHouse(config)) {
      for (Probe probe : probes) {
        HttpResponse<String> response =
            http.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + probe.path()))
                    .header("Authorization", "Bearer " + secrets.get(probe.account()))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
          throw new IllegalStateException(
              probe.path() + " answered " + response.statusCode() + ": " + response.body());
        }
        JsonNode data = JSON.readTree(response.body()).get("data");
        List<JsonNode> rows =
            clickHouse.query(probe.statements().get(probe.statements().size() - 1));
        long requests = 0;
        BigDecimal usage = BigDecimal.ZERO;
        for (JsonNode item : data) {
          requests += item.get("requests").asLong();
          usage = usage.add(new BigDecimal(item.get("usage").asText()));
        }
        for (JsonNode row : rows) {
          requests -= row.get("requests_sum").asLong();
          usage = usage.subtract(new BigDecimal(row.get("usage_sum").asText()));
        }
        if (data.size() != rows.size() || requests != 0 || usage.signum() != 0) {
          throw new IllegalStateException(
              "the service and ClickHouse disagree on "
                  + probe.path()
                  + " of account "
                  + probe.account());
        }
      }
    }
    return probes.size();
  }
}
