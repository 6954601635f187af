package io.tallyhouse.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.tallyhouse.local.MonitoringFiles.AlertRule;
import io.tallyhouse.testkit.Promtool;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The alert rules of deploy/monitoring/prometheus checked by Prometheus' own promtool (an installed
 * tool, hence the integration lane): they load, their unit tests pass, each alert has a firing and
 * a quiet case there, a severity, a summary, a description and a runbook section.
 */
class AlertRulesIntegrationTest {

  private static final Set<String> SEVERITIES = Set.of("critical", "warning");

  @Test
  void promtoolAcceptsTheRules() {
    Promtool.Result result =
        Promtool.run("", "check", "rules", MonitoringFiles.alertsFile().toString());
    assertEquals(0, result.exitCode(), "promtool check rules alerts.yml:\n" + result.output());
  }

  @Test
  void everyAlertPassesItsUnitTests() {
    // promtool reads the test's rule_files relative to the test file.
    Promtool.Result result =
        Promtool.run("", "test", "rules", MonitoringFiles.alertsTestFile().toString());
    assertEquals(0, result.exitCode(), "promtool test rules alerts_test.yml:\n" + result.output());
  }

  @Test
  void everyAlertHasAFiringAndAQuietUnitTest() {
    Set<String> firing = new HashSet<>();
    Set<String> quiet = new HashSet<>();
    JsonNode tests =
        MonitoringFiles.yaml(MonitoringFiles.prometheusDir().resolve("alerts_test.yml"));
    for (JsonNode group : tests.path("tests")) {
      for (JsonNode check : group.path("alert_rule_test")) {
        String alert = check.path("alertname").asText();
        (check.path("exp_alerts").isEmpty() ? quiet : firing).add(alert);
      }
    }
    List<String> missing = new ArrayList<>();
    for (AlertRule rule : MonitoringFiles.alertRules()) {
      if (!firing.contains(rule.name())) {
        missing.add(rule.name() + " has no case where it fires");
      }
      if (!quiet.contains(rule.name())) {
        missing.add(rule.name() + " has no case where it stays quiet");
      }
    }
    assertEquals(List.of(), missing, "alerts_test.yml");
  }

  @Test
  void everyAlertHasASeverityAnnotationsAndItsRunbookSection() {
    List<AlertRule> rules = MonitoringFiles.alertRules();
    assertFalse(rules.isEmpty(), "alerts.yml has no alert");
    List<String> sections = MonitoringFiles.runbookSections();
    List<String> problems = new ArrayList<>();
    for (AlertRule rule : rules) {
      String name = rule.name();
      if (!SEVERITIES.contains(rule.labels().get("severity"))) {
        problems.add(name + ": severity must be one of " + SEVERITIES);
      }
      for (String annotation : List.of("summary", "description")) {
        if (rule.annotations().getOrDefault(annotation, "").isBlank()) {
          problems.add(name + ": no " + annotation);
        }
      }
      String runbook = "deploy/monitoring/RUNBOOK.md#" + name.toLowerCase();
      if (!runbook.equals(rule.annotations().get("runbook_url"))) {
        problems.add(name + ": runbook_url must be " + runbook);
      }
      if (!sections.contains(name)) {
        problems.add(name + ": RUNBOOK.md has no section \"## " + name + "\"");
      }
    }
    Set<String> alerts = new HashSet<>(rules.stream().map(AlertRule::name).toList());
    for (String section : sections) {
      if (section.startsWith("Tallyhouse") && !alerts.contains(section)) {
        problems.add("RUNBOOK.md has a section for " + section + ", which alerts.yml lacks");
      }
    }
    assertEquals(List.of(), problems);
  }

  /** The example configuration, with its rule file where it is in the repository. */
  @Test
  void theExampleScrapeConfigurationIsValid(@TempDir Path dir) throws Exception {
    Path prometheus = MonitoringFiles.prometheusDir();
    String config = Files.readString(prometheus.resolve("prometheus.yml"), StandardCharsets.UTF_8);
    assertTrue(config.contains("/etc/prometheus/alerts.yml"), "prometheus.yml loads alerts.yml");
    Files.writeString(
        dir.resolve("prometheus.yml"),
        config.replace("/etc/prometheus/", prometheus.toAbsolutePath() + "/"),
        StandardCharsets.UTF_8);
    Promtool.Result result =
        Promtool.run("", "check", "config", dir.resolve("prometheus.yml").toString());
    assertEquals(0, result.exitCode(), "promtool check config prometheus.yml:\n" + result.output());
  }
}
