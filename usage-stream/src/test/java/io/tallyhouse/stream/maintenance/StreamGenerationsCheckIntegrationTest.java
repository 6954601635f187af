package io.tallyhouse.stream.maintenance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.Migrations;
import io.tallyhouse.common.clickhouse.SqlLiteral;
import io.tallyhouse.common.clickhouse.TabSeparated;
import io.tallyhouse.common.runtime.ServiceMain;
import io.tallyhouse.stream.Events;
import io.tallyhouse.stream.StreamConfig;
import io.tallyhouse.stream.rollup.GroupKey;
import io.tallyhouse.stream.rows.UsageDailyRow;
import io.tallyhouse.testkit.Infra;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.junit.jupiter.api.Test;

/**
 * The start check and the recording of generations on the real broker and ClickHouse, without
 * running the stream: a database from before generations were recorded, new generations after it,
 * and settings that no longer apply.
 */
class StreamGenerationsCheckIntegrationTest {

  private final String name =
      "gc_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);

  @Test
  void rowsFromBeforeGenerationsBelongToTheRunningGeneration() throws Exception {
    StreamConfig running = config("old", Map.of());
    try (ClickHouse clickHouse = new ClickHouse(running.clickHouse())) {
      Migrations.apply(clickHouse);
      insertRollup(clickHouse, 2);
      createRollupsTopic(running);

      // Its changelog exists, so it has started before: no setting needed, whatever ClickHouse
      // holds.
      new StreamGenerations(running.generations(), clickHouse).checkBeforeStart();
      Map<String, Integer> bases =
          new StreamGenerations(running.generations(), clickHouse).writerShardBases(() -> true);

      assertEquals(
          Map.of(running.rollupsTopic(), 0),
          bases,
          "the generation that wrote the rows keeps shards 0-2");
      assertEquals(
          Map.of(running.rollupsTopic(), 0),
          new StreamGenerations(running.generations(), clickHouse).writerShardBases(() -> true),
          "recorded once, found again");
      dropDatabase(clickHouse);
    }
  }

  @Test
  void aNewGenerationAfterUnrecordedRowsNeedsTheOperatorsWordAndTakesTheShardsAboveThem()
      throws Exception {
    StreamConfig plain = config("new", Map.of());
    try (ClickHouse clickHouse = new ClickHouse(plain.clickHouse())) {
      Migrations.apply(clickHouse);
      insertRollup(clickHouse, 4);

      IllegalStateException refused =
          assertThrows(
              IllegalStateException.class,
              () -> new StreamGenerations(plain.generations(), clickHouse).checkBeforeStart());
      assertTrue(
          refused.getMessage().contains("NEW_GENERATION_AFTER=" + GenerationLedger.UNRECORDED),
          refused.getMessage());
      assertTrue(refused.getMessage().contains("shards 0-4"), refused.getMessage());

      StreamConfig acknowledged =
          config("new", Map.of("NEW_GENERATION_AFTER", GenerationLedger.UNRECORDED));
      new StreamGenerations(acknowledged.generations(), clickHouse).checkBeforeStart();
      createRollupsTopic(acknowledged);
      Map<String, Integer> bases =
          new StreamGenerations(acknowledged.generations(), clickHouse)
              .writerShardBases(() -> true);
      assertEquals(
          Map.of(acknowledged.rollupsTopic(), 5), bases, "above the unrecorded rows' shards 0-4");

      // The same word again, for yet another generation, names a generation that is no longer the
      // newest.
      StreamConfig stale =
          config("third", Map.of("NEW_GENERATION_AFTER", GenerationLedger.UNRECORDED));
      IllegalStateException again =
          assertThrows(
              IllegalStateException.class,
              () -> new StreamGenerations(stale.generations(), clickHouse).checkBeforeStart());
      assertTrue(
          again.getMessage().contains("does not name the newest generation"), again.getMessage());
      assertTrue(
          again.getMessage().contains("CONTINUE_FROM_APPLICATION_ID=" + name + "-new"),
          again.getMessage());
      dropDatabase(clickHouse);
    }
  }

  @Test
  void continuingFromAnApplicationThatDoesNotExistHereIsRefused() throws Exception {
    StreamConfig config =
        config("next", Map.of("CONTINUE_FROM_APPLICATION_ID", name + "-elsewhere"));
    try (ClickHouse clickHouse = new ClickHouse(config.clickHouse())) {
      Migrations.apply(clickHouse);
      insertRollup(clickHouse, 0);
      IllegalStateException refused =
          assertThrows(
              IllegalStateException.class,
              () -> new StreamGenerations(config.generations(), clickHouse).checkBeforeStart());
      assertTrue(
          refused.getMessage().contains("does not exist on Kafka cluster"), refused.getMessage());
      dropDatabase(clickHouse);
    }
  }

  @Test
  void anEmptyDatabaseTakesANewGenerationAsItIs() throws Exception {
    StreamConfig config = config("fresh", Map.of());
    try (ClickHouse clickHouse = new ClickHouse(config.clickHouse())) {
      Migrations.apply(clickHouse);
      new StreamGenerations(config.generations(), clickHouse).checkBeforeStart();
      createRollupsTopic(config);
      assertEquals(
          Map.of(config.rollupsTopic(), 0),
          new StreamGenerations(config.generations(), clickHouse).writerShardBases(() -> true));
      dropDatabase(clickHouse);
    }
  }

  private StreamConfig config(String application, Map<String, String> extra) {
    Map<String, String> env = new HashMap<>(Infra.serviceEnvironment());
    env.put("CLICKHOUSE_DATABASE", name);
    env.put("EVENTS_TOPIC", name + "-events");
    env.put("EVENTS_PARTITIONS", "3");
    env.put("APPLICATION_ID", name + "-" + application);
    env.putAll(extra);
    return ServiceMain.read(env, StreamConfig::read);
  }

  /**
   * What Kafka Streams does when the application first runs: create the rollup store's changelog.
   */
  private static void createRollupsTopic(StreamConfig config) throws Exception {
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", config.bootstrapServers()))) {
      admin
          .createTopics(
              List.of(new NewTopic(config.rollupsTopic(), config.eventsPartitions(), (short) 1)))
          .all()
          .get(30, TimeUnit.SECONDS);
    }
  }

  /** A usage_daily row in {@code shard}, as a writer from before generations wrote it. */
  private static void insertRollup(ClickHouse clickHouse, int shard) {
    var event = Events.event("acme", "e-" + shard, "2026-11-20T10:00:00Z", null, "1");
    TabSeparated row = new TabSeparated(256);
    UsageDailyRow.appendRow(
        row,
        GroupKey.of(event).getBytes(StandardCharsets.UTF_8),
        shard,
        Events.totals(event),
        "2026-11-20 10:00:01");
    clickHouse.insertTabSeparated("usage_daily", UsageDailyRow.COLUMNS, row.inputStream());
  }

  private void dropDatabase(ClickHouse clickHouse) {
    clickHouse.execute("DROP DATABASE IF EXISTS " + SqlLiteral.identifier(name));
  }
}
