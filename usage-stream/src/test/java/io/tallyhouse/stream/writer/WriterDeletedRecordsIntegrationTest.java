package io.tallyhouse.stream.writer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.Migrations;
import io.tallyhouse.common.kafka.PipelineTopics;
import io.tallyhouse.common.runtime.ServiceMain;
import io.tallyhouse.stream.Events;
import io.tallyhouse.stream.StreamConfig;
import io.tallyhouse.stream.UsageStreamApp;
import io.tallyhouse.stream.rows.DistinctEventRow;
import io.tallyhouse.testkit.Await;
import io.tallyhouse.testkit.Infra;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

/**
 * On the real broker and ClickHouse: the writer starts a partition it never read at its beginning,
 * and when records it had not read yet are gone (retention, deleteRecords), it says so in a metric
 * instead of skipping silently.
 */
class WriterDeletedRecordsIntegrationTest {

  @Test
  void deletedUnreadRecordsAreCountedAndTheWriterGoesOn() throws Exception {
    String name = "wd_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    Map<String, String> env = Infra.serviceEnvironment();
    env.put("CLICKHOUSE_DATABASE", name);
    env.put("EVENTS_TOPIC", name + "-events");
    env.put("APPLICATION_ID", name);
    env.put("WRITER_MAX_WAIT_MS", "50");
    StreamConfig config = ServiceMain.read(env, StreamConfig::read);
    Map<String, Object> kafka = Map.of("bootstrap.servers", Infra.kafka().bootstrapServers());
    TopicPartition raw = new TopicPartition(config.distinctEventsTopic(), 0);
    try (Admin admin = Admin.create(kafka);
        KafkaProducer<byte[], byte[]> producer =
            new KafkaProducer<>(kafka, new ByteArraySerializer(), new ByteArraySerializer());
        ClickHouse clickHouse = new ClickHouse(config.clickHouse())) {
      Migrations.apply(clickHouse);
      // The writer subscribes to the rollup changelog too, which Kafka Streams would have created.
      PipelineTopics.ensure(
          admin, List.of(config.distinctEventsTopic(), config.rollupsTopic()), 1, 30_000);
      send(producer, raw, "e1", "e2", "e3");

      try (ClickHouseWriter writer =
          UsageStreamApp.writer(config, clickHouse, new SimpleMeterRegistry())) {
        writer.start();
        awaitEvents(clickHouse, Set.of("e1", "e2", "e3"));
        // The writer commits a batch's offsets once the next poll is done; stop it only after that.
        awaitCommitted(admin, config.applicationId() + "-clickhouse-writer", raw, 3);
        assertEquals(
            0,
            writer.health().partitionsWithDeletedRecords(),
            "a first start reads from the beginning");
      }

      // While no writer runs, e4 and e5 are deleted before anyone read them.
      send(producer, raw, "e4", "e5", "e6");
      admin.deleteRecords(Map.of(raw, RecordsToDelete.beforeOffset(5))).all().get();

      try (ClickHouseWriter writer =
          UsageStreamApp.writer(config, clickHouse, new SimpleMeterRegistry())) {
        writer.start();
        awaitEvents(clickHouse, Set.of("e1", "e2", "e3", "e6"));
        assertEquals(
            1,
            writer.health().partitionsWithDeletedRecords(),
            "the loss is reported, not skipped silently");
      }
      clickHouse.execute(
          "DROP DATABASE IF EXISTS " + io.tallyhouse.common.clickhouse.SqlLiteral.identifier(name));
    }
  }

  private static void send(
      KafkaProducer<byte[], byte[]> producer, TopicPartition partition, String... ids)
      throws Exception {
    for (String id : ids) {
      producer
          .send(
              new ProducerRecord<>(
                  partition.topic(),
                  partition.partition(),
                  null,
                  DistinctEventRow.toRow(
                      Events.event("acme", id, "2026-11-20T10:00:00Z", null, "1"))))
          .get();
    }
  }

  private static void awaitCommitted(
      Admin admin, String group, TopicPartition partition, long offset) throws Exception {
    long deadline = System.nanoTime() + Await.STALL.toNanos();
    while (System.nanoTime() < deadline) {
      var committed =
          admin
              .listConsumerGroupOffsets(group)
              .partitionsToOffsetAndMetadata()
              .get()
              .get(partition);
      if (committed != null && committed.offset() >= offset) {
        return;
      }
      Thread.sleep(100);
    }
    fail(group + " did not commit offset " + offset + " of " + partition);
  }

  private static void awaitEvents(ClickHouse clickHouse, Set<String> expected)
      throws InterruptedException {
    Set<String> seen = new TreeSet<>();
    long deadline = System.nanoTime() + Await.STALL.toNanos();
    while (System.nanoTime() < deadline) {
      try {
        seen.clear();
        clickHouse
            .query("SELECT event_id FROM usage_events FINAL")
            .forEach(r -> seen.add(r.get("event_id").asText()));
        if (seen.equals(expected)) {
          return;
        }
      } catch (RuntimeException e) {
        // the writer has not created the tables yet
      }
      Thread.sleep(100);
    }
    fail("usage_events holds " + seen + ", expected " + expected);
  }
}
