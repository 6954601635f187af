package io.tallyhouse.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tallyhouse.common.config.ConfigException;
import io.tallyhouse.common.runtime.ServiceMain;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LocalStackSettingsTest {

  @Test
  void defaultsAreTheContractsPortsAndDotRun() {
    LocalStackSettings settings = ServiceMain.read(Map.of(), LocalStackSettings::read);
    assertEquals(Path.of(".run").toAbsolutePath(), settings.home());
    assertEquals(8080, settings.ingestPort());
    assertEquals(8081, settings.queryPort());
    assertEquals(9092, settings.kafkaPort());
    assertEquals(8123, settings.clickHouseHttpPort());
    assertFalse(settings.demo());
    assertNull(settings.ingestToken());
    assertNull(settings.managementKey());
  }

  @Test
  void anEmptyKeyABadDemoValueAndABadPortAreAllListedAtOnce() {
    ConfigException e =
        assertThrows(
            ConfigException.class,
            () ->
                ServiceMain.read(
                    Map.of("MANAGEMENT_KEY", "", "DEMO", "yes", "LOCAL_KAFKA_PORT", "70000"),
                    LocalStackSettings::read));
    String message = e.getMessage();
    assertTrue(message.contains("MANAGEMENT_KEY"), message);
    assertTrue(message.contains("DEMO=yes"), message);
    assertTrue(message.contains("LOCAL_KAFKA_PORT=70000"), message);
  }
}
