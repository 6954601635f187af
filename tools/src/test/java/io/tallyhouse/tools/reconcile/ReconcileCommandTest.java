package io.tallyhouse.tools.reconcile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tallyhouse.tools.Cli;
import io.tallyhouse.tools.Cli.Run;
import io.tallyhouse.tools.ExitCodes;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * What `tallyhouse reconcile` answers before it compares anything: help, bad arguments and
 * settings, no server.
 */
class ReconcileCommandTest {

  @Test
  void helpNamesTheOptionsTheSettingsAndTheExitCodes() {
    Run help = Cli.run("reconcile", "--help");
    assertEquals(ExitCodes.OK, help.code(), help.toString());
    assertTrue(
        help.out()
            .contains("Usage: tallyhouse reconcile [-hV] [--from=YYYY-MM-DD] [--to=YYYY-MM-DD]"),
        help.toString());
    for (String text :
        List.of(
            "--from=YYYY-MM-DD",
            "--to=YYYY-MM-DD",
            "CLICKHOUSE_URL",
            "CLICKHOUSE_DATABASE",
            "RAW_RETENTION_DAYS",
            "(default 400",
            "Exit codes",
            "every account-day-workspace agrees",
            "differs or is IMPOSSIBLE",
            "bad argument or setting",
            "ClickHouse cannot be queried")) {
      assertTrue(help.out().contains(text), text + " in\n" + help);
    }
  }

  @Test
  void aDayThatIsNoDateIsRefusedWithAnExample() {
    Run run = Cli.run("reconcile", "--from", "2026-13-01");
    assertUsageError(
        run,
        "tallyhouse reconcile: Invalid value for option '--from': '2026-13-01' is not a date:"
            + " give one like 2026-11-01 (YYYY-MM-DD)");
    assertTrue(
        run.err().contains("Run 'tallyhouse reconcile --help' for its options."), run.toString());
  }

  @Test
  void unusableArgumentsAreNamedWithTheirProblem() {
    assertUsageError(Cli.run("reconcile", "--since", "2026-11-01"), "'--since'");
    assertUsageError(
        Cli.run("reconcile", "--from"),
        "Missing required parameter for option '--from' (YYYY-MM-DD)");
    assertUsageError(
        Cli.run("reconcile", "--to", "2026-11-01", "--to", "2026-11-02"),
        "option '--to' (YYYY-MM-DD) should be specified only once");
    assertUsageError(
        Cli.run("reconcile", "--from", "2026-11-02", "--to", "2026-11-01"),
        "--from 2026-11-02 is after --to 2026-11-01; give the first day as --from and the last as --to");
  }

  @Test
  void aBrokenSettingIsAUsageErrorNamingVariableAndValue() {
    Run run =
        Cli.run(
            Map.of("RAW_RETENTION_DAYS", "forever", "CLICKHOUSE_DATABASE", "no-such name"),
            "reconcile");
    assertUsageError(run, "RAW_RETENTION_DAYS=forever: must be a whole number");
    assertUsageError(run, "CLICKHOUSE_DATABASE=no-such name: must be a plain identifier");
  }

  @Test
  void aClickHouseThatCannotBeReachedIsExitCodeThreeNotADifference() throws IOException {
    Run run;
    String url;
    // Bound but not listening: connects are refused, and no other process can take the port while
    // the command runs (a released port could be).
    try (Socket refusing = new Socket()) {
      refusing.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
      url = "http://127.0.0.1:" + refusing.getLocalPort();
      run = Cli.run(Map.of("CLICKHOUSE_URL", url), "reconcile", "--from", "2026-11-01");
    }
    assertEquals(ExitCodes.UNAVAILABLE, run.code(), run.toString());
    assertTrue(
        run.err()
            .contains(
                "tallyhouse reconcile: ClickHouse could not be queried at "
                    + url
                    + " (database tallyhouse)"),
        run.toString());
    assertTrue(run.err().contains("check CLICKHOUSE_URL"), run.toString());
    assertEquals("", run.out());
  }

  private static void assertUsageError(Run run, String expected) {
    assertEquals(ExitCodes.USAGE, run.code(), run.toString());
    assertTrue(run.err().contains(expected), expected + " in\n" + run);
    assertEquals("", run.out());
  }
}
