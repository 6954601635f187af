package io.tallyhouse.local;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** What deploy/monitoring holds, read the way the tests check it. */
final class MonitoringFiles {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final YAMLMapper YAML = new YAMLMapper();

  /** Grafana's {@code label_values(selector, label)} of a template variable. */
  private static final Pattern LABEL_VALUES =
      Pattern.compile("^label_values\\((.*),\\s*([a-zA-Z_][a-zA-Z0-9_]*)\\s*\\)$", Pattern.DOTALL);

  /**
   * A Grafana template variable in an expression: {@code $name}, {@code ${name}}, {@code
   * ${name:fmt}}.
   */
  private static final Pattern VARIABLE =
      Pattern.compile("\\$\\{([a-zA-Z_][a-zA-Z0-9_]*)(?::[a-z]+)?}|\\$([a-zA-Z_][a-zA-Z0-9_]*)");

  /** An alerting rule of alerts.yml. */
  record AlertRule(
      String name, String expr, Map<String, String> labels, Map<String, String> annotations) {}

  /** A query of the dashboard: where it is and its PromQL. */
  record DashboardQuery(String where, String expr) {}

  private MonitoringFiles() {}

  /** deploy/monitoring, found from the working directory (the module's) or a parent of it. */
  static Path dir() {
    Path at = Path.of("").toAbsolutePath();
    while (at != null) {
      Path candidate = at.resolve("deploy/monitoring");
      if (Files.isDirectory(candidate)) {
        return candidate;
      }
      at = at.getParent();
    }
    throw new IllegalStateException("no deploy/monitoring above " + Path.of("").toAbsolutePath());
  }

  static Path prometheusDir() {
    return dir().resolve("prometheus");
  }

  static Path alertsFile() {
    return prometheusDir().resolve("alerts.yml");
  }

  static Path alertsTestFile() {
    return prometheusDir().resolve("alerts_test.yml");
  }

  static Path dashboardFile() {
    return dir().resolve("grafana/dashboards/tallyhouse.json");
  }

  static JsonNode yaml(Path file) {
    try {
      return YAML.readTree(file.toFile());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file, e);
    }
  }

  static JsonNode dashboard() {
    try {
      return JSON.readTree(dashboardFile().toFile());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + dashboardFile(), e);
    }
  }

  /** Every alerting rule of alerts.yml, in file order. */
  static List<AlertRule> alertRules() {
    List<AlertRule> rules = new ArrayList<>();
    for (JsonNode group : yaml(alertsFile()).path("groups")) {
      for (JsonNode rule : group.path("rules")) {
        if (rule.has("alert")) {
          rules.add(
              new AlertRule(
                  rule.get("alert").asText(),
                  rule.get("expr").asText(),
                  strings(rule.path("labels")),
                  strings(rule.path("annotations"))));
        }
      }
    }
    return rules;
  }

  /**
   * Every query of the dashboard: each panel target's {@code expr} (rows' nested panels too) and
   * each query variable's {@code label_values(selector, label)} as {@code count by (label)
   * (selector)}.
   */
  static List<DashboardQuery> dashboardQueries() {
    JsonNode dashboard = dashboard();
    List<DashboardQuery> queries = new ArrayList<>();
    collectPanels(dashboard.path("panels"), queries);
    for (JsonNode variable : dashboard.path("templating").path("list")) {
      if (variable.path("type").asText().equals("query")) {
        String definition = variable.path("query").path("query").asText();
        Matcher m = LABEL_VALUES.matcher(definition.trim());
        if (!m.matches()) {
          throw new IllegalStateException(
              "variable "
                  + variable.path("name").asText()
                  + ": not label_values(..): "
                  + definition);
        }
        queries.add(
            new DashboardQuery(
                "variable " + variable.path("name").asText(),
                "count by (" + m.group(2) + ") (" + m.group(1) + ")"));
      }
    }
    return queries;
  }

  private static void collectPanels(JsonNode panels, List<DashboardQuery> queries) {
    for (JsonNode panel : panels) {
      collectPanels(panel.path("panels"), queries);
      for (JsonNode target : panel.path("targets")) {
        queries.add(
            new DashboardQuery(
                "panel \"" + panel.path("title").asText() + "\" " + target.path("refId").asText(),
                target.path("expr").asText()));
      }
    }
  }

  /**
   * {@code expr} with Grafana's variables replaced by {@code values} (by name, without the {@code
   * $}); fails on a variable it has no value for.
   */
  static String substitute(String expr, Map<String, String> values) {
    Matcher m = VARIABLE.matcher(expr);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      String name = m.group(1) != null ? m.group(1) : m.group(2);
      String value = values.get(name);
      if (value == null) {
        throw new IllegalStateException("no value for the variable $" + name + " in " + expr);
      }
      m.appendReplacement(out, Matcher.quoteReplacement(value));
    }
    m.appendTail(out);
    return out.toString();
  }

  /** The {@code ## } headings of RUNBOOK.md, in order. */
  static List<String> runbookSections() {
    try {
      return Files.readAllLines(dir().resolve("RUNBOOK.md"), StandardCharsets.UTF_8).stream()
          .filter(line -> line.startsWith("## "))
          .map(line -> line.substring(3).trim())
          .toList();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read RUNBOOK.md", e);
    }
  }

  private static Map<String, String> strings(JsonNode object) {
    Map<String, String> values = new LinkedHashMap<>();
    object.fields().forEachRemaining(e -> values.put(e.getKey(), e.getValue().asText()));
    return values;
  }
}
