package io.tallyhouse.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class ConfigurationReferenceTest {

  /** The repository's root: surefire runs this module's tests in deploy/local. */
  private static final Path ROOT = Path.of("..", "..");

  @Test
  void theCommittedReferenceIsWhatTheCodeReads() throws IOException {
    String committed =
        Files.readString(ROOT.resolve(ConfigurationReferenceFile.PATH), StandardCharsets.UTF_8);
    assertEquals(
        ConfigurationReferenceFile.render(),
        committed,
        "docs/CONFIGURATION.md differs from what the services read: run `make config-reference` and commit it");
  }

  @Test
  void everyVariableHasAMeaning() {
    Matcher row =
        Pattern.compile("(?m)^\\| `([A-Z0-9_*]+)` \\| [^|]*\\| (.*) \\|$")
            .matcher(ConfigurationReferenceFile.render());
    int rows = 0;
    while (row.find()) {
      rows++;
      assertTrue(
          row.group(2).strip().length() > 3, row.group(1) + " has no meaning in the reference");
    }
    assertTrue(rows > 40, "the reference lists " + rows + " variables");
  }

  @Test
  void theVariablesTheServicesMustAgreeOnAreListedAsShared() {
    String shared = ConfigurationReferenceFile.render().split("## Shared by several components")[1];
    for (String variable :
        new String[] {
          "KAFKA_BOOTSTRAP_SERVERS",
          "EVENTS_TOPIC",
          "DEDUP_WINDOW_DAYS",
          "CLICKHOUSE_DATABASE",
          "KEYS_FILE",
          "RAW_RETENTION_DAYS"
        }) {
      assertTrue(shared.contains("| `" + variable + "` |"), variable + " is not listed as shared");
    }
    assertTrue(shared.contains("| `DEDUP_WINDOW_DAYS` | gateway-ingest, usage-stream |"), shared);
  }
}
