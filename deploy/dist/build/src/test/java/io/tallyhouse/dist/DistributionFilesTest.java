package io.tallyhouse.dist;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class DistributionFilesTest {

  private final String template = DistributionFiles.resource("launcher.sh");

  @Test
  void aServiceLauncherExecsJavaWithItsLoggingThenJavaOptsThenTheArguments() {
    String launcher =
        DistributionFiles.launcher(template, Service.GATEWAY_INGEST, "\"-Dlog=$home/x\"");
    assertTrue(launcher.startsWith("#!/bin/sh\n"), launcher);
    assertTrue(
        launcher.contains(
            "exec \"$java\" \"-Dlog=$home/x\" $JAVA_OPTS -cp \"$home/lib/*\""
                + " io.tallyhouse.ingest.IngestServer \"$@\"\n"),
        launcher);
    assertFalse(
        launcher.matches("(?s).*@[A-Z_]+@.*"), "every placeholder is replaced: " + launcher);
  }

  @Test
  void theToolsLauncherHasNoJvmDefaults() {
    String launcher = DistributionFiles.launcher(template, Service.TOOLS, "");
    assertTrue(
        launcher.contains(
            "exec \"$java\" $JAVA_OPTS -cp \"$home/lib/*\" io.tallyhouse.tools.TallyhouseCli \"$@\""),
        launcher);
  }

  @Test
  void everyServiceHasItsComponentInTheConfigurationReference() {
    for (Service service : Service.SERVICES) {
      assertEquals(service.name(), DistributionFiles.component(service).name());
    }
  }

  @Test
  void anUnknownServiceIsNamedWithTheKnownOnes() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Service.named("gateway"));
    assertTrue(e.getMessage().contains("gateway-ingest"), e.getMessage());
  }
}
