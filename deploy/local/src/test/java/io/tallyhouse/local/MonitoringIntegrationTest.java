package io.tallyhouse.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tallyhouse.common.auth.CredentialStore;
import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.Migrations;
import io.tallyhouse.common.config.PipelineSettings;
import io.tallyhouse.common.runtime.ServiceMain;
import io.tallyhouse.ingest.IngestServer;
import io.tallyhouse.local.MonitoringFiles.AlertRule;
import io.tallyhouse.local.MonitoringFiles.DashboardQuery;
import io.tallyhouse.local.PromqlSelectors.Matcher;
import io.tallyhouse.local.PromqlSelectors.Selector;
import io.tallyhouse.query.ActivityServer;
import io.tallyhouse.stream.UsageStreamApp;
import io.tallyhouse.testkit.PrometheusServer;
import io.tallyhouse.testkit.PrometheusServer.ScrapeJob;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pipeline under load, each service a child JVM started by its main as in production, scraped
 * every second by a real Prometheus with the alert rules loaded. Every query of the Grafana
 * dashboard returns data, every metric an alert reads exists, every rule is loaded and healthy, the
 * healthy pipeline meets no alert's condition, and its lag drains to 0 once the traffic stops: a
 * metric renamed on either side fails here.
 *
 * <p>An alert's expression returns nothing while it does not fire, so its metric selectors are
 * checked one by one instead of the expression: the metric with the selector's equality matchers
 * must have a series ({@code consumer="writer"}, {@code dependency="kafka"}), and each label a
 * regular-expression matcher filters on must exist on it, while the values it matches may not have
 * occurred yet ({@code status=~"5.."} on a healthy service). Removing the thresholds would not do:
 * an {@code and} of two conditions, or an {@code increase} of a counter that stays flat, still
 * returns nothing.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MonitoringIntegrationTest {

  private static final ObjectMapper JSON = new ObjectMapper();

  private static final Duration SCRAPE_INTERVAL = Duration.ofSeconds(1);

  /** How long the metrics may take to appear, on a starved two-core machine. */
  private static final Duration DATA = Duration.ofMinutes(5);

  /** Grafana's variables as the dashboard's "All" selection and a short range give them. */
  private static final Map<String, String> VARIABLES =
      Map.of(
          "job", ".*",
          "instance", ".*",
          "__rate_interval", "1m",
          "__interval", "1m",
          "DS_PROMETHEUS", "prometheus");

  // Kept when the test fails: the services' and Prometheus' logs are in it.
  @TempDir(cleanup = CleanupMode.ON_SUCCESS)
  static Path dir;

  private static ServiceFleet fleet;
  private static ServiceProcess ingest;
  private static ServiceProcess query;
  private static PrometheusServer prometheus;
  private static SteadyIngest traffic;
  private static String ingestToken;
  private static String managementKey;

  @BeforeAll
  static void start() throws Exception {
    String name = "mon_" + Long.toHexString(System.currentTimeMillis());
    Map<String, String> env = Pipeline.environment(name, dir, Map.of());
    CredentialStore keys = new CredentialStore(dir.resolve("keys.jsonl"));
    ingestToken = ServiceApi.newIngestToken(keys);
    managementKey = ServiceApi.newManagementKey(keys, SteadyIngest.ACCOUNTS.get(0));
    try (ClickHouse clickHouse =
        new ClickHouse(ServiceMain.read(env, PipelineSettings::clickHouse))) {
      Migrations.apply(clickHouse);
    }

    fleet = new ServiceFleet(dir, env);
    ingest = fleet.add("gateway-ingest", IngestServer.class, 1, i -> Map.of()).get(0);
    ServiceProcess stream =
        fleet.add("usage-stream", UsageStreamApp.class, 1, i -> Map.of()).get(0);
    query = fleet.add("activity-query", ActivityServer.class, 1, i -> Map.of()).get(0);
    ServiceFleet.start(List.of(stream, ingest, query));

    prometheus =
        PrometheusServer.start(
            dir.resolve("prometheus"),
            List.of(
                new ScrapeJob("gateway-ingest", List.of(target(ingest))),
                new ScrapeJob("usage-stream", List.of(target(stream))),
                new ScrapeJob("activity-query", List.of(target(query)))),
            List.of(MonitoringFiles.alertsFile()),
            SCRAPE_INTERVAL);

    traffic = new SteadyIngest(List.of(ingest.url()), ingestToken);
    traffic.start();
    traffic.awaitMoreAcknowledged(20);
    // Rejected requests too, so that the rejection counters have their reasons.
    assertEquals(401, ServiceApi.postEvents(ingest.url(), "th_it_unknown", "[]").statusCode());
    assertEquals(400, ServiceApi.postEvents(ingest.url(), ingestToken, "[{}]").statusCode());
  }

  @AfterAll
  static void stop() throws Exception {
    if (traffic != null) {
      traffic.close();
    }
    if (prometheus != null) {
      prometheus.stop();
    }
    if (fleet != null) {
      fleet.close();
    }
  }

  @Test
  @Order(1)
  void prometheusScrapesEveryService() throws Exception {
    awaitNothingMissing(
        "targets not scraped successfully",
        () -> {
          List<String> down = new ArrayList<>();
          JsonNode targets = api("/api/v1/targets").path("activeTargets");
          for (JsonNode target : targets) {
            if (!target.path("health").asText().equals("up")) {
              down.add(
                  target.path("labels").path("job").asText()
                      + " ("
                      + target.path("lastError").asText()
                      + ")");
            }
          }
          if (targets.size() != 3) {
            down.add(targets.size() + " targets instead of 3");
          }
          return down;
        });
  }

  @Test
  @Order(2)
  void everyDashboardQueryReturnsData() throws Exception {
    List<DashboardQuery> queries = MonitoringFiles.dashboardQueries();
    assertTrue(queries.size() > 20, "the dashboard's queries: " + queries.size());
    awaitNothingMissing(
        "dashboard queries without data",
        () -> {
          List<String> empty = new ArrayList<>();
          for (DashboardQuery q : queries) {
            String promql = MonitoringFiles.substitute(q.expr(), VARIABLES);
            if (!hasData(promql)) {
              empty.add(q.where() + ": " + promql);
            }
          }
          return empty;
        });
  }

  @Test
  @Order(3)
  void everyMetricTheAlertsReadExists() throws Exception {
    List<AlertRule> rules = MonitoringFiles.alertRules();
    awaitNothingMissing(
        "alert selectors without a series",
        () -> {
          Set<String> missing = new LinkedHashSet<>();
          for (AlertRule rule : rules) {
            for (Selector selector : PromqlSelectors.of(rule.expr())) {
              String series = selector.render(Matcher::equality);
              if (!hasData("count(" + series + ")")) {
                missing.add(rule.name() + ": " + series);
                continue;
              }
              for (Matcher filter : selector.matchers()) {
                if (filter.equality()) {
                  continue;
                }
                List<Matcher> labelled = new ArrayList<>();
                selector.matchers().stream().filter(Matcher::equality).forEach(labelled::add);
                labelled.add(new Matcher(filter.label(), "!=", ""));
                Selector withLabel = new Selector(selector.metric(), labelled);
                if (!hasData("count(" + withLabel + ")")) {
                  missing.add(rule.name() + ": no series " + withLabel + " for " + selector);
                }
              }
            }
          }
          return new ArrayList<>(missing);
        });
  }

  @Test
  @Order(4)
  void everyRuleIsLoadedAndHealthy() throws Exception {
    Set<String> expected = new TreeSet<>();
    MonitoringFiles.alertRules().forEach(r -> expected.add(r.name()));
    awaitNothingMissing(
        "rules not loaded or not healthy",
        () -> {
          List<String> problems = new ArrayList<>();
          Set<String> loaded = new TreeSet<>();
          for (JsonNode group : api("/api/v1/rules").path("groups")) {
            for (JsonNode rule : group.path("rules")) {
              loaded.add(rule.path("name").asText());
              if (!rule.path("health").asText().equals("ok")) {
                problems.add(
                    rule.path("name").asText()
                        + ": "
                        + rule.path("health").asText()
                        + " "
                        + rule.path("lastError").asText());
              }
            }
          }
          if (!loaded.equals(expected)) {
            problems.add("loaded " + loaded + ", alerts.yml has " + expected);
          }
          return problems;
        });
  }

  /**
   * On the healthy pipeline under load every alert's condition is false (the rule is inactive, not
   * even pending): a metric in other units than its rule assumes (milliseconds for seconds, a ratio
   * for a percentage) shows here, which the name checks above cannot see. Left out are the alerts
   * on scrapes and dependency checks, which a starved machine can make pending for a moment (a
   * scrape over its 1 s timeout); their metrics are checked above.
   */
  @Test
  @Order(5)
  void theHealthyPipelineMeetsNoAlertCondition() {
    Set<String> timingSensitive =
        Set.of(
            "TallyhouseTargetDown",
            "TallyhouseNoStreamInstanceUp",
            "TallyhouseKafkaUnreachable",
            "TallyhouseSchemaRegistryUnreachable",
            "TallyhouseClickHouseUnreachable");
    List<String> raised = new ArrayList<>();
    int checked = 0;
    for (JsonNode group : api("/api/v1/rules").path("groups")) {
      for (JsonNode rule : group.path("rules")) {
        String name = rule.path("name").asText();
        if (rule.path("type").asText().equals("alerting") && !timingSensitive.contains(name)) {
          checked++;
          if (!rule.path("state").asText().equals("inactive")) {
            raised.add(name + " is " + rule.path("state").asText() + ": " + rule.path("alerts"));
          }
        }
      }
    }
    assertEquals(List.of(), raised, "alert conditions met on a healthy pipeline");
    assertEquals(MonitoringFiles.alertRules().size() - timingSensitive.size(), checked);
  }

  /**
   * The stalled alerts read "lag above 0 and no rows written" as stuck: that holds only if an idle
   * pipeline's lag really comes down to 0, transaction markers and all.
   */
  @Test
  @Order(6)
  void lagDrainsToZeroOnceTrafficStops() throws Exception {
    traffic.stop();
    awaitNothingMissing(
        "partitions still behind after the traffic stopped",
        () -> {
          List<String> behind = new ArrayList<>();
          JsonNode lag =
              parse(
                      prometheus.query(
                          "max by (consumer, topic, partition) (stream_consumer_lag_records) > 0"))
                  .path("data")
                  .path("result");
          lag.forEach(series -> behind.add(series.toString()));
          return behind;
        });
    assertTrue(
        hasData("stream_consumer_lag_records{consumer=\"writer\"}"),
        "the writer's lag is still reported");
  }

  private static String target(ServiceProcess instance) {
    return instance.url().substring("http://".length());
  }

  private static boolean hasData(String promql) {
    JsonNode answer = parse(prometheus.query(promql));
    if (!answer.path("status").asText().equals("success")) {
      throw new AssertionError("Prometheus refused " + promql + ": " + answer);
    }
    return !answer.path("data").path("result").isEmpty();
  }

  private static JsonNode api(String path) {
    return parse(prometheus.get(path)).path("data");
  }

  private static JsonNode parse(String body) {
    try {
      return JSON.readTree(body);
    } catch (IOException e) {
      throw new UncheckedIOException("Prometheus answered no JSON: " + body, e);
    }
  }

  /**
   * Polls {@code missing} (keeping the activity API busy meanwhile) until it is empty; fails with
   * its last answer, the services' and Prometheus' log tails after {@link #DATA}.
   */
  private static void awaitNothingMissing(String what, Supplier<List<String>> missing)
      throws Exception {
    long deadline = System.nanoTime() + DATA.toNanos();
    List<String> last = missing.get();
    while (!last.isEmpty()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError(
            what
                + " after "
                + DATA.toMinutes()
                + " minutes:\n  "
                + String.join("\n  ", last)
                + "\nPrometheus log:\n"
                + prometheus.logTail()
                + fleet.logTails(20));
      }
      fleet.assertAllAlive();
      ServiceApi.activity(query.url(), managementKey, "");
      Thread.sleep(SCRAPE_INTERVAL.toMillis());
      last = missing.get();
    }
  }
}
