package io.tallyhouse.tools.reconcile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.Migrations;
import io.tallyhouse.common.clickhouse.SqlLiteral;
import io.tallyhouse.testkit.ClickHouseEndpoint;
import io.tallyhouse.testkit.Infra;
import io.tallyhouse.tools.Cli;
import io.tallyhouse.tools.Cli.Run;
import io.tallyhouse.tools.ExitCodes;
import io.tallyhouse.tools.TallyhouseCli;
import io.tallyhouse.tools.TestDatabase;
import io.tallyhouse.tools.reconcile.UsageRows.Event;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * `tallyhouse reconcile` against the real ClickHouse: its report and exit code, as make reconcile
 * runs it.
 */
class ReconcileCommandIntegrationTest {

  @Test
  void aDayMissingAShardsRowDiffersUntilTheRowArrives() throws Exception {
    ClickHouseEndpoint ch = Infra.clickhouse();
    String name = TestDatabase.newName("rc");
    Map<String, String> env = env(ch, name);
    try (ClickHouse clickHouse = TestDatabase.client(ch, name)) {
      Migrations.apply(clickHouse);
      Event first = Event.of("acme", "2026-01-01", "a", "0.5");
      Event second = Event.of("acme", "2026-01-01", "b", "0.25");
      // Shard 0 counted the first event; the shard that counted the second has not written yet: one
      // request and 0.5
      // instead of two and 0.75.
      UsageRows rows = new UsageRows().events(List.of(first, second)).rollup("", 0, List.of(first));
      rows.insert(clickHouse);

      Run differs = Cli.run(env, "reconcile", "--from", "2026-01-01", "--to", "2026-01-02");
      assertEquals(ExitCodes.FINDING, differs.code(), differs.toString());
      assertTrue(differs.out().contains("DIFF acme 2026-01-01 default"), differs.toString());
      assertTrue(
          differs.out().contains("requests=2") && differs.out().contains("requests=1"),
          differs.toString());
      assertTrue(
          differs.out().endsWith("1 of 1 account-day-workspaces differ\n"), differs.toString());

      rows.rollup("", 1, List.of(second)).insert(clickHouse);
      Process agreed = reconcileProcess(env, "--to", "2026-01-02", "--from", "2026-01-01");
      String output = new String(agreed.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(agreed.waitFor(60, TimeUnit.SECONDS), output);
      assertEquals(ExitCodes.OK, agreed.exitValue(), output);
      assertEquals(
          "reconciled: 1 account-day-workspaces from 2026-01-01 to 2026-01-02 agree\n", output);
      clickHouse.execute("DROP DATABASE IF EXISTS " + SqlLiteral.identifier(name));
    }
  }

  /**
   * Two workspaces of one account on one day: a shard's row missing in one of them is a difference
   * of that workspace alone, and the workspace default agrees although usage_daily stores it as ''
   * and usage_events as default.
   */
  @Test
  void aDifferenceInOneWorkspaceIsReportedForThatWorkspaceOnly() throws Exception {
    ClickHouseEndpoint ch = Infra.clickhouse();
    String name = TestDatabase.newName("rw");
    Map<String, String> env = env(ch, name);
    try (ClickHouse clickHouse = TestDatabase.client(ch, name)) {
      Migrations.apply(clickHouse);
      Event inDefault = Event.of("acme", "2026-01-01", "a", "0.5");
      Event first = Event.of("acme", "2026-01-01", "b", "0.25").inWorkspace("ops.eu:1");
      Event second = Event.of("acme", "2026-01-01", "c", "0.125").inWorkspace("ops.eu:1");
      UsageRows rows =
          new UsageRows()
              .events(List.of(inDefault, first, second))
              .rollup("", 0, List.of(inDefault))
              .rollup("", 0, List.of(first));
      rows.insert(clickHouse);

      Run differs = Cli.run(env, "reconcile", "--from", "2026-01-01", "--to", "2026-01-01");
      assertEquals(ExitCodes.FINDING, differs.code(), differs.toString());
      assertTrue(differs.out().contains("DIFF acme 2026-01-01 ops.eu:1"), differs.toString());
      assertTrue(!differs.out().contains(" default"), differs.toString());
      assertTrue(
          differs.out().contains("requests=2") && differs.out().contains("requests=1"),
          differs.toString());
      assertTrue(
          differs.out().endsWith("1 of 2 account-day-workspaces differ\n"), differs.toString());

      rows.rollup("", 1, List.of(second)).insert(clickHouse);
      Run agreed = Cli.run(env, "reconcile", "--from", "2026-01-01", "--to", "2026-01-01");
      assertEquals(ExitCodes.OK, agreed.code(), agreed.toString());
      assertEquals(
          "reconciled: 2 account-day-workspaces from 2026-01-01 to 2026-01-01 agree\n",
          agreed.out());
      clickHouse.execute("DROP DATABASE IF EXISTS " + SqlLiteral.identifier(name));
    }
  }

  /** The environment that points reconcile at database {@code name}. */
  private static Map<String, String> env(ClickHouseEndpoint ch, String name) {
    return TestDatabase.env(ch, name);
  }

  /**
   * {@code tallyhouse reconcile} in its own JVM with only {@code env} for ClickHouse; stdout alone.
   */
  private static Process reconcileProcess(Map<String, String> env, String... args)
      throws Exception {
    List<String> command =
        new ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                System.getProperty("java.class.path"),
                TallyhouseCli.class.getName(),
                "reconcile"));
    command.addAll(List.of(args));
    ProcessBuilder builder =
        new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT);
    builder
        .environment()
        .keySet()
        .removeIf(k -> k.startsWith("CLICKHOUSE_") || k.equals("RAW_RETENTION_DAYS"));
    builder.environment().putAll(env);
    return builder.start();
  }
}
