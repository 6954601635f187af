package io.tallyhouse.common.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tallyhouse.testkit.Await;
import io.tallyhouse.testkit.Infra;
import io.tallyhouse.testkit.SecuredKafka;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * On the real broker: pipeline topics count retention from when a record was written, not from its
 * event time; an existing topic is checked, never changed, and refused when set wrong.
 */
class PipelineTopicsIntegrationTest {

  private static final Map<String, Object> KAFKA =
      Map.of("bootstrap.servers", Infra.kafka().bootstrapServers());

  @Test
  void aLateEventsRecordIsStampedWhenWrittenSoRetentionCannotDeleteItUnread() throws Exception {
    String topic = "pt-" + UUID.randomUUID();
    try (Admin admin = Admin.create(KAFKA)) {
      PipelineTopics.ensure(admin, List.of(topic), 2, 30_000);
      awaitTimestampType(admin, topic, "LogAppendTime");
    }
    long thirtyDaysAgo = Instant.now().minus(Duration.ofDays(30)).toEpochMilli();
    long beforeSend = System.currentTimeMillis();
    try (KafkaProducer<String, String> producer =
        new KafkaProducer<>(KAFKA, new StringSerializer(), new StringSerializer())) {
      producer.send(new ProducerRecord<>(topic, null, thirtyDaysAgo, "late", "event")).get();
    }
    ConsumerRecord<String, String> back = readOne(topic);
    assertEquals(TimestampType.LOG_APPEND_TIME, back.timestampType());
    assertTrue(
        back.timestamp() >= beforeSend, "stamped on append, not with the event's 30-day-old time");
  }

  @Test
  void anExistingTopicWithCreateTimeIsRefusedNamingTheSettingAndTheFix() throws Exception {
    String topic = "pt-" + UUID.randomUUID();
    try (Admin admin = Admin.create(KAFKA)) {
      createAndAwait(admin, topic, Map.of());
      IllegalStateException refused =
          assertThrows(
              IllegalStateException.class,
              () -> PipelineTopics.ensure(admin, List.of(topic), 1, 30_000));
      assertTrue(
          refused
              .getMessage()
              .contains(
                  "topic "
                      + topic
                      + " has message.timestamp.type=CreateTime; set it to LogAppendTime"),
          refused.getMessage());
      assertTrue(
          refused
              .getMessage()
              .contains(
                  "kafka-configs --alter --entity-type topics --entity-name "
                      + topic
                      + " --add-config message.timestamp.type=LogAppendTime"),
          refused.getMessage());
      assertEquals("CreateTime", timestampType(admin, topic), "left as it was");
    }
  }

  @Test
  void anExistingCompactedTopicIsRefused() throws Exception {
    String topic = "pt-" + UUID.randomUUID();
    try (Admin admin = Admin.create(KAFKA)) {
      createAndAwait(
          admin,
          topic,
          Map.of(
              TopicConfig.MESSAGE_TIMESTAMP_TYPE_CONFIG,
              "LogAppendTime",
              TopicConfig.CLEANUP_POLICY_CONFIG,
              TopicConfig.CLEANUP_POLICY_COMPACT));
      IllegalStateException refused =
          assertThrows(
              IllegalStateException.class,
              () -> PipelineTopics.ensure(admin, List.of(topic), 1, 30_000));
      assertTrue(
          refused
              .getMessage()
              .contains(
                  "topic "
                      + topic
                      + " has cleanup.policy=compact; set it to delete (compaction would keep"
                      + " only the last event of each key): kafka-configs --alter --entity-type"
                      + " topics --entity-name "
                      + topic
                      + " --add-config cleanup.policy=delete"),
          refused.getMessage());
      assertFalse(refused.getMessage().contains("message.timestamp.type"), refused.getMessage());
    }
  }

  /**
   * A principal with DESCRIBE and DESCRIBE_CONFIGS only (no CREATE, no ALTER_CONFIGS) starts on
   * topics an administrator made right, and learns their partition count from them: any create or
   * alter would be refused by the broker. On a missing topic the same principal is refused with
   * why.
   */
  @Test
  void aPrincipalWithoutCreateOrAlterAcceptsRightTopicsAndReadsTheirPartitions(@TempDir Path dir)
      throws Exception {
    String topic = "pt-" + UUID.randomUUID();
    String missing = "pt-missing-" + UUID.randomUUID();
    try (SecuredKafka kafka = SecuredKafka.start(SecuredKafka.Mode.SASL_SSL_SCRAM, dir)) {
      try (Admin admin = Admin.create(kafka.clientProperties(SecuredKafka.ADMIN))) {
        admin
            .createTopics(
                List.of(
                    new NewTopic(topic, Optional.of(3), Optional.empty())
                        .configs(PipelineTopics.CONFIGS)))
            .all()
            .get(30, TimeUnit.SECONDS);
      }
      kafka.grantTopics(
          SecuredKafka.APP,
          List.of(topic, missing),
          AclOperation.DESCRIBE,
          AclOperation.DESCRIBE_CONFIGS);
      try (Admin app = Admin.create(kafka.clientProperties(SecuredKafka.APP))) {
        Await.until(
            "the app principal sees " + topic + " with 3 partitions",
            () -> {
              try {
                return PipelineTopics.ensure(app, List.of(topic), 1, 30_000)
                    .equals(Map.of(topic, 3));
              } catch (IllegalStateException e) {
                return false;
              }
            },
            Duration.ofMinutes(2));
        IllegalStateException refused =
            assertThrows(
                IllegalStateException.class,
                () -> PipelineTopics.ensure(app, List.of(missing), 1, 30_000));
        assertTrue(
            refused
                .getMessage()
                .startsWith("topic " + missing + " is missing and cannot be created"),
            refused.getMessage());
      }
    }
  }

  private static void createAndAwait(Admin admin, String topic, Map<String, String> configs)
      throws Exception {
    admin
        .createTopics(
            List.of(new NewTopic(topic, Optional.of(1), Optional.empty()).configs(configs)))
        .all()
        .get();
    Await.until(
        "topic " + topic + " is described",
        () -> {
          try {
            return timestampType(admin, topic) != null;
          } catch (Exception e) {
            return false;
          }
        },
        Duration.ofMinutes(2));
  }

  /**
   * Waits until the broker answers {@code expected}: a broker applies topic creations and config
   * changes from the metadata log after acknowledging them, so on a busy machine a describe right
   * after may still see the old state.
   */
  private static void awaitTimestampType(Admin admin, String topic, String expected)
      throws InterruptedException {
    Await.until(
        "message.timestamp.type of " + topic + " is " + expected,
        () -> {
          try {
            return expected.equals(timestampType(admin, topic));
          } catch (Exception e) {
            return false;
          }
        },
        Duration.ofMinutes(2));
  }

  private static String timestampType(Admin admin, String topic) throws Exception {
    ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
    return admin
        .describeConfigs(List.of(resource))
        .all()
        .get()
        .get(resource)
        .get(TopicConfig.MESSAGE_TIMESTAMP_TYPE_CONFIG)
        .value();
  }

  private static ConsumerRecord<String, String> readOne(String topic) {
    Map<String, Object> props =
        Map.of(
            "bootstrap.servers",
            Infra.kafka().bootstrapServers(),
            "group.id",
            "pt-" + UUID.randomUUID(),
            "auto.offset.reset",
            "earliest");
    try (KafkaConsumer<String, String> consumer =
        new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer())) {
      consumer.subscribe(List.of(topic));
      List<ConsumerRecord<String, String>> records = new ArrayList<>();
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (records.isEmpty() && System.nanoTime() < deadline) {
        consumer.poll(Duration.ofMillis(200)).forEach(records::add);
      }
      assertEquals(1, records.size(), "the record written");
      return records.get(0);
    }
  }
}
