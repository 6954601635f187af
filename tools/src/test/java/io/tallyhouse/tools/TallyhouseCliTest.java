package io.tallyhouse.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tallyhouse.common.runtime.BuildVersion;
import io.tallyhouse.tools.Cli.Run;
import org.junit.jupiter.api.Test;

/** The one entry point: its commands, its version, and what it answers to a call it cannot use. */
class TallyhouseCliTest {

  @Test
  void helpListsTheCommandsAndTheExitCodes() {
    Run help = Cli.run("--help");
    assertEquals(0, help.code(), help.toString());
    assertTrue(help.out().startsWith("Usage: tallyhouse"), help.toString());
    assertTrue(
        help.out().contains("keys       Creates, lists and revokes management keys")
            && help.out().contains("reconcile  Compares the rollups with the distinct events"),
        help.toString());
    assertTrue(
        help.out().contains("Exit codes:")
            && help.out().contains(" 3   what the command needs cannot be reached or read"),
        help.toString());
    assertEquals("", help.err());
  }

  @Test
  void versionIsTheBuildsVersion() {
    Run version = Cli.run("--version");
    assertEquals(0, version.code(), version.toString());
    assertEquals(
        BuildVersion.current().describe("tallyhouse") + System.lineSeparator(),
        version.out(),
        version.toString());
    assertTrue(
        version.out().startsWith("tallyhouse " + System.getProperty("tallyhouse.version")),
        version.toString());
  }

  @Test
  void noCommandOrAnUnknownOneIsAUsageErrorThatSaysWhatToRun() {
    Run none = Cli.run();
    assertEquals(ExitCodes.USAGE, none.code(), none.toString());
    assertTrue(
        none.err()
            .contains(
                "no command given: use tallyhouse keys, tallyhouse reconcile or tallyhouse migrate"),
        none.toString());
    assertTrue(none.err().contains("Run 'tallyhouse --help'"), none.toString());

    Run typo = Cli.run("reconcil");
    assertEquals(ExitCodes.USAGE, typo.code(), typo.toString());
    assertTrue(
        typo.err().contains("'reconcil'") && typo.err().contains("reconcile"), typo.toString());
    assertEquals("", typo.out());
  }
}
