package io.tallyhouse.common.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class BuildVersionTest {

  @Test
  void theCurrentVersionIsTheOneMavenFilledIn() {
    BuildVersion current = BuildVersion.current();
    // The build passes the pom's version to the tests, so this compares with the pom itself.
    assertEquals(System.getProperty("tallyhouse.version"), current.version());
    assertFalse(current.commit().contains("$"), current.commit());
  }

  @Test
  void aKnownCommitIsPrintedAfterTheVersion() {
    assertEquals(
        "gateway-ingest 1.2.0 (commit abc1234)",
        new BuildVersion("1.2.0", "abc1234").describe("gateway-ingest"));
  }

  @Test
  void anUnknownCommitIsLeftOut() {
    assertEquals("tallyhouse 1.2.0", new BuildVersion("1.2.0", "").describe("tallyhouse"));
    assertEquals("tallyhouse 1.2.0", new BuildVersion("1.2.0", null).describe("tallyhouse"));
  }

  @Test
  void aBlankVersionIsABrokenBuild() {
    assertThrows(IllegalArgumentException.class, () -> new BuildVersion(" ", "abc1234"));
  }
}
