package io.tallyhouse.common.logging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** The structured-log configuration the services ship writes one JSON object per line. */
class JsonLoggingTest {

  @Test
  void everyLineIsAJsonObjectWithLevelLoggerAndMessage() throws Exception {
    LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
    PrintStream original = System.out;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      context.reset();
      JoranConfigurator configurator = new JoranConfigurator();
      configurator.setContext(context);
      configurator.doConfigure(getClass().getResource("/tallyhouse-logback-json.xml"));
      LoggerFactory.getLogger("io.tallyhouse.ingest.IngestServer")
          .info("gateway-ingest listening on {}:{}", "127.0.0.1", 8080);
      LoggerFactory.getLogger("org.apache.kafka.clients.NetworkClient").info("chatty and filtered");
    } finally {
      System.setOut(original);
      context.reset();
      new ch.qos.logback.classic.util.ContextInitializer(context).autoConfig();
    }
    String[] lines = captured.toString(StandardCharsets.UTF_8).trim().split("\n");
    assertEquals(1, lines.length, captured.toString(StandardCharsets.UTF_8));
    JsonNode line = new ObjectMapper().readTree(lines[0]);
    assertEquals("INFO", line.get("level").asText());
    assertEquals("io.tallyhouse.ingest.IngestServer", line.get("loggerName").asText());
    assertEquals(
        "gateway-ingest listening on 127.0.0.1:8080", line.get("formattedMessage").asText());
    assertTrue(line.has("timestamp"));
  }
}
