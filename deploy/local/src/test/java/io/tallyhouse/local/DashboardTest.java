package io.tallyhouse.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.JsonNode;
import io.tallyhouse.local.MonitoringFiles.DashboardQuery;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The Grafana dashboard's shape, without a Grafana (none can run here): every panel reads the
 * provisioned Prometheus source through the data source variable, and every query follows the job
 * and instance variables. MonitoringIntegrationTest runs the queries on a real Prometheus.
 */
class DashboardTest {

  private static final String DATA_SOURCE = "${DS_PROMETHEUS}";

  @Test
  void everyPanelReadsTheDataSourceVariable() {
    JsonNode dashboard = MonitoringFiles.dashboard();
    List<String> problems = new ArrayList<>();
    Set<Integer> ids = new HashSet<>();
    for (JsonNode panel : dashboard.path("panels")) {
      String title = panel.path("title").asText();
      if (!ids.add(panel.path("id").asInt())) {
        problems.add(title + ": id " + panel.path("id").asInt() + " is taken");
      }
      JsonNode grid = panel.path("gridPos");
      if (grid.path("x").asInt() + grid.path("w").asInt() > 24) {
        problems.add(title + ": wider than the 24 columns");
      }
      if (panel.path("type").asText().equals("row")) {
        continue;
      }
      if (!DATA_SOURCE.equals(panel.path("datasource").path("uid").asText())) {
        problems.add(title + ": data source is not " + DATA_SOURCE);
      }
      if (panel.path("targets").isEmpty()) {
        problems.add(title + ": no query");
      }
      for (JsonNode target : panel.path("targets")) {
        if (!DATA_SOURCE.equals(target.path("datasource").path("uid").asText())) {
          problems.add(title + " " + target.path("refId").asText() + ": not " + DATA_SOURCE);
        }
      }
    }
    assertEquals(List.of(), problems);
    assertEquals(39, dashboard.path("schemaVersion").asInt());
  }

  @Test
  void theVariablesAreTheDataSourceJobAndInstance() {
    List<String> names = new ArrayList<>();
    for (JsonNode variable : MonitoringFiles.dashboard().path("templating").path("list")) {
      names.add(variable.path("name").asText());
    }
    assertEquals(List.of("DS_PROMETHEUS", "job", "instance"), names);
  }

  @Test
  void everyPanelQueryFollowsTheJobAndInstanceVariables() {
    List<String> problems = new ArrayList<>();
    List<DashboardQuery> queries = MonitoringFiles.dashboardQueries();
    for (DashboardQuery query : queries) {
      if (query.where().startsWith("variable")) {
        continue;
      }
      for (PromqlSelectors.Selector selector : PromqlSelectors.of(query.expr())) {
        Set<String> matchers = new HashSet<>();
        selector.matchers().forEach(m -> matchers.add(m.toString()));
        if (!matchers.containsAll(Set.of("job=~\"$job\"", "instance=~\"$instance\""))) {
          problems.add(query.where() + ": " + selector + " ignores $job or $instance");
        }
      }
    }
    assertFalse(queries.isEmpty());
    assertEquals(List.of(), problems);
  }
}
