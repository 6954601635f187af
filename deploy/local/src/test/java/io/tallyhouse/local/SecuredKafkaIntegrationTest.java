package io.tallyhouse.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tallyhouse.common.auth.Secrets;
import io.tallyhouse.common.runtime.ServiceMain;
import io.tallyhouse.ingest.IngestConfig;
import io.tallyhouse.ingest.IngestServer;
import io.tallyhouse.local.ExpectedActivity.SentEvent;
import io.tallyhouse.stream.StreamConfig;
import io.tallyhouse.stream.UsageStreamApp;
import io.tallyhouse.testkit.SecuredKafka;
import java.math.BigDecimal;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.TopicConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * gateway-ingest and usage-stream against a broker that takes SASL_SSL with SCRAM-SHA-512 only and
 * enforces ACLs, configured through nothing but {@code KAFKA_CLIENT_*} variables and running as the
 * principal {@code app}, which the super user granted its topics, groups and transactional ids (a
 * prefix with every operation, or the least privilege on topics an administrator made).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SecuredKafkaIntegrationTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String ACCOUNT = "acme";

  @TempDir static Path dir;
  private static SecuredKafka kafka;
  private static Pipeline pipeline;
  private static final ListAppender<ILoggingEvent> LOGS = new ListAppender<>();
  private static final List<String> SECRETS = new ArrayList<>();

  @BeforeAll
  static void start() throws Exception {
    captureLogs();
    kafka = SecuredKafka.start(SecuredKafka.Mode.SASL_SSL_SCRAM, dir.resolve("kafka"));
    SECRETS.add(kafka.password(SecuredKafka.ADMIN));
    SECRETS.add(kafka.password(SecuredKafka.APP));
    String name = "sasl_" + Long.toHexString(System.currentTimeMillis());
    kafka.grantPrefix(SecuredKafka.APP, name);
    Map<String, String> env = kafka.serviceEnvironment(SecuredKafka.APP);
    assertTrue(
        env.keySet().stream().allMatch(k -> k.startsWith("KAFKA_")), env.keySet().toString());
    pipeline = new Pipeline(name, Clock.systemUTC(), env);
  }

  @AfterAll
  static void stop() {
    if (pipeline != null) {
      pipeline.close();
    }
    if (kafka != null) {
      kafka.close();
    }
    releaseLogs();
  }

  @Test
  @Order(1)
  void eventsPostedThroughIngestAreCountedAndAnswered() throws Exception {
    countsAndAnswers(pipeline);
  }

  /**
   * An administrator created the pipeline's topics right; the services' principal may read, write
   * and describe them but neither create nor alter them (CREATE only on Kafka Streams' own
   * changelogs), and every event is still counted.
   */
  @Test
  @Order(2)
  void withTopicsMadeByTheAdminAndNoCreateOrAlterOnThemEventsAreCounted() throws Exception {
    String name = "least_" + Long.toHexString(System.currentTimeMillis());
    List<String> topics =
        List.of(name + "-events", name + "-events-distinct", name + "-events-dlq");
    try (Admin admin = Admin.create(kafka.clientProperties(SecuredKafka.ADMIN))) {
      admin
          .createTopics(
              topics.stream()
                  .map(
                      topic ->
                          new NewTopic(topic, Optional.of(6), Optional.empty())
                              .configs(
                                  Map.of(
                                      TopicConfig.MESSAGE_TIMESTAMP_TYPE_CONFIG,
                                      "LogAppendTime",
                                      TopicConfig.CLEANUP_POLICY_CONFIG,
                                      TopicConfig.CLEANUP_POLICY_DELETE)))
                  .toList())
          .all()
          .get(30, TimeUnit.SECONDS);
    }
    kafka.grantLeastPrivilege(SecuredKafka.APP, topics, name + "-stream");
    try (Pipeline least =
        new Pipeline(name, Clock.systemUTC(), kafka.serviceEnvironment(SecuredKafka.APP))) {
      countsAndAnswers(least);
    }
  }

  @Test
  @Order(3)
  void aWrongPasswordFailsTheStartSayingAuthenticationFailed() throws Exception {
    String wrong = "wrong-" + Secrets.sha256Hex(String.valueOf(System.nanoTime()));
    SECRETS.add(wrong);
    Path home = Files.createTempDirectory(dir, "wrong");
    Map<String, String> env =
        Pipeline.environment("sasl_wrong", home, kafka.serviceEnvironment(SecuredKafka.APP, wrong));
    long start = System.nanoTime();
    RuntimeException ingest =
        assertThrows(
            RuntimeException.class,
            () ->
                IngestServer.start(ServiceMain.read(env, IngestConfig::read), Clock.systemUTC())
                    .close());
    assertAuthenticationFailed(ingest);
    RuntimeException stream =
        assertThrows(
            RuntimeException.class,
            () -> UsageStreamApp.start(ServiceMain.read(env, StreamConfig::read)).close());
    assertAuthenticationFailed(stream);
    // Refused at once, not after the clients' timeouts ran out.
    assertTrue(
        Duration.ofNanos(System.nanoTime() - start).compareTo(Duration.ofSeconds(60)) < 0,
        "took " + Duration.ofNanos(System.nanoTime() - start));
  }

  @Test
  @Order(4)
  void noPasswordAppearsInTheLogs() {
    assertFalse(LOGS.list.isEmpty(), "the Kafka clients' configuration was logged");
    for (ILoggingEvent event : LOGS.list) {
      StringBuilder text = new StringBuilder(event.getFormattedMessage());
      for (IThrowableProxy t = event.getThrowableProxy(); t != null; t = t.getCause()) {
        text.append('\n').append(t.getMessage());
      }
      for (String secret : SECRETS) {
        assertFalse(
            text.toString().contains(secret), "a password in the log: " + event.getLoggerName());
      }
    }
  }

  private static void assertAuthenticationFailed(Throwable e) {
    StringBuilder chain = new StringBuilder();
    for (Throwable t = e; t != null; t = t.getCause()) {
      chain.append(t).append('\n');
    }
    assertTrue(chain.toString().contains("Authentication failed"), chain.toString());
    for (String secret : SECRETS) {
      assertFalse(chain.toString().contains(secret), "the error shows a password");
    }
  }

  /**
   * Posts events of the last days through {@code pipeline}'s ingest, waits until ClickHouse counts
   * them, and compares the activity API's answer with the one computed from the events.
   */
  static void countsAndAnswers(Pipeline pipeline) throws Exception {
    LocalDate today = LocalDate.now(ZoneOffset.UTC);
    String keyHash = Secrets.sha256Hex("secured-key");
    List<SentEvent> sent = new ArrayList<>();
    for (int i = 0; i < 24; i++) {
      Instant at = today.minusDays(1 + i % 3).atStartOfDay(ZoneOffset.UTC).toInstant();
      sent.add(
          new SentEvent(
              "evt-" + i,
              ACCOUNT,
              keyHash,
              i % 2 == 0 ? "user-1" : null,
              "openai/gpt-4o",
              "openai/gpt-4o",
              "OpenAI",
              "OpenAI/openai/gpt-4o",
              at.plusSeconds(60L * i),
              100 + i,
              10 + i,
              0,
              i,
              new BigDecimal("0.000123456789").multiply(BigDecimal.valueOf(i + 1)),
              false,
              BigDecimal.ZERO,
              null));
    }
    String token = pipeline.newIngestToken();
    String managementKey = pipeline.newManagementKey(ACCOUNT);
    HttpResponse<String> accepted = pipeline.post(token, ExpectedActivity.requestBody(sent));
    assertEquals(202, accepted.statusCode(), accepted.body());
    assertEquals(sent.size(), pipeline.awaitCountedRequests(sent.size()));
    HttpResponse<String> answer = pipeline.activity(managementKey, "");
    assertEquals(200, answer.statusCode(), answer.body());
    JsonNode data = JSON.readTree(answer.body()).get("data");
    ExpectedActivity.assertAnswer(
        ExpectedActivity.of(sent, ACCOUNT, today, false, false, e -> true), data, "");
  }

  private static final List<String> KAFKA_LOGGERS = List.of("org.apache.kafka", "kafka");

  /**
   * Collects what is logged: everything at WARN and above, and the Kafka clients' INFO lines (which
   * print their configurations), the latter only here so they do not flood the console.
   */
  private static void captureLogs() {
    LOGS.start();
    root().addAppender(LOGS);
    for (String name : KAFKA_LOGGERS) {
      Logger logger = (Logger) LoggerFactory.getLogger(name);
      logger.setLevel(Level.INFO);
      logger.setAdditive(false);
      logger.addAppender(LOGS);
    }
  }

  private static void releaseLogs() {
    root().detachAppender(LOGS);
    for (String name : KAFKA_LOGGERS) {
      Logger logger = (Logger) LoggerFactory.getLogger(name);
      logger.detachAppender(LOGS);
      logger.setAdditive(true);
      logger.setLevel(Level.WARN);
    }
  }

  private static Logger root() {
    return (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
  }
}
