package io.tallyhouse.common.config;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.tallyhouse.common.config.ConfigurationReference.Component;
import org.junit.jupiter.api.Test;

class ConfigurationReferenceTest {

  private static final Component SERVICE =
      new Component(
          "svc",
          s -> {
            s.port("HTTP_PORT", 8080, "the HTTP port");
            s.text("KEYS_FILE", "the key file").orElse("/etc/keys.jsonl");
            s.text("PASSWORD", "a password\nof two lines").orNull();
            s.number("MAX_BYTES", "the largest body").orElse(5L * 1024 * 1024, "5242880 (5 MiB)");
            s.number("THREADS", "threads").intIfSet("one per core");
            s.prefixed("KAFKA_CLIENT_", "any Kafka client property", key -> null);
          });

  @Test
  void theEnvExampleListsEveryVariableCommentedWithItsMeaningAndDefault() {
    assertEquals(
        """
        # svc: every environment variable it reads, with its meaning and default (the same as
        # docs/CONFIGURATION.md). Uncomment and set what differs from the default.

        # the HTTP port (default: 8080)
        #HTTP_PORT=8080

        # the key file (default: /etc/keys.jsonl)
        #KEYS_FILE=/etc/keys.jsonl

        # a password of two lines
        #PASSWORD=

        # the largest body (default: 5242880 (5 MiB))
        #MAX_BYTES=5242880

        # threads (default: one per core)
        #THREADS=

        # KAFKA_CLIENT_*: any Kafka client property
        """,
        ConfigurationReference.envExample(SERVICE));
  }
}
