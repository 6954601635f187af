package io.tallyhouse.common.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tallyhouse.testkit.Await;
import io.tallyhouse.testkit.Infra;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

/**
 * On the real broker: pipeline topics count retention from when a record was written, not from its
 * event time.
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
  void aTopicThatAlreadyExistsWithCreateTimeIsSwitched() throws Exception {
    String topic = "pt-" + UUID.randomUUID();
    try (Admin admin = Admin.create(KAFKA)) {
      admin
          .createTopics(List.of(new NewTopic(topic, Optional.of(1), Optional.empty())))
          .all()
          .get();
      awaitTimestampType(admin, topic, "CreateTime");
      PipelineTopics.ensure(admin, List.of(topic), 1, 30_000);
      awaitTimestampType(admin, topic, "LogAppendTime");
      // Idempotent: a second service starting changes nothing and does not fail.
      PipelineTopics.ensure(admin, List.of(topic), 1, 30_000);
      assertEquals("LogAppendTime", timestampType(admin, topic));
    }
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
