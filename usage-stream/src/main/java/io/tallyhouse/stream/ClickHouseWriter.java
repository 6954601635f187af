package io.tallyhouse.stream;

import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.ClickHouseException;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.clients.consumer.CommitFailedException;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Copies committed rollups into ClickHouse. The guarantee: a rollup's offset is committed only after the insert that
 * holds it succeeded, so nothing is lost; a rollup inserted twice (crash between insert and commit, a retry) is the
 * same row with the same version, so ReplacingMergeTree(version) and readers using FINAL count it once.
 * While ClickHouse is down the writer retries with backoff and the backlog stays in Kafka.
 */
final class ClickHouseWriter implements Runnable, AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(ClickHouseWriter.class);
  private static final Duration MAX_BACKOFF = Duration.ofSeconds(5);

  private final KafkaConsumer<String, byte[]> consumer;
  private final ClickHouse clickHouse;
  private final String topic;
  private final Thread thread;
  private volatile boolean running = true;
  private volatile boolean healthy = true;
  private volatile long rowsWritten;

  ClickHouseWriter(StreamConfig config, ClickHouse clickHouse) {
    this.clickHouse = clickHouse;
    this.topic = config.rollupsTopic();
    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
    props.put(ConsumerConfig.GROUP_ID_CONFIG, config.applicationId() + "-clickhouse-writer");
    // Only rollups of committed Streams transactions: an aborted attempt must never reach ClickHouse.
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, config.writerBatchRows());
    props.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 10_000);
    this.consumer = new KafkaConsumer<>(props, new StringDeserializer(), new ByteArrayDeserializer());
    this.thread = new Thread(this, "clickhouse-writer");
  }

  void start() {
    thread.start();
  }

  boolean healthy() {
    return healthy && thread.isAlive();
  }

  long rowsWritten() {
    return rowsWritten;
  }

  @Override
  public void run() {
    try {
      consumer.subscribe(List.of(topic));
      while (running) {
        ConsumerRecords<String, byte[]> records = consumer.poll(Duration.ofMillis(200));
        if (records.isEmpty()) {
          continue;
        }
        writeUntilDone(records);
        commit(records);
      }
    } catch (WakeupException e) {
      if (running) {
        throw e;
      }
    } catch (RuntimeException e) {
      healthy = false;
      LOG.error("the ClickHouse writer stopped", e);
    } finally {
      consumer.close();
    }
  }

  private void writeUntilDone(ConsumerRecords<String, byte[]> records) {
    // Within a batch only the newest totals of a group matter; older versions would lose to it anyway.
    Map<String, Rollup> latest = new LinkedHashMap<>();
    for (ConsumerRecord<String, byte[]> record : records) {
      Rollup rollup = Rollup.fromJson(record.value());
      latest.merge(record.key(), rollup, (a, b) -> a.version() >= b.version() ? a : b);
    }
    ByteArrayOutputStream rows = new ByteArrayOutputStream(latest.size() * 400);
    Set<String> keyRows = new LinkedHashSet<>();
    for (Rollup rollup : latest.values()) {
      rows.writeBytes(rollup.toJson());
      rows.write('\n');
      keyRows.add(Rollup.JSON.createObjectNode().put("account_id", rollup.accountId())
          .put("api_key_hash", rollup.apiKeyHash()).toString());
    }
    byte[] hashes = String.join("\n", keyRows).getBytes(StandardCharsets.UTF_8);
    long backoff = 100;
    while (running) {
      try {
        // The key record first: a reader that sees a key's rows can also find the key.
        clickHouse.insertJsonEachRow("api_key_hashes", hashes);
        clickHouse.insertJsonEachRow("usage_daily", rows.toByteArray());
        rowsWritten += latest.size();
        healthy = true;
        return;
      } catch (ClickHouseException e) {
        healthy = false;
        LOG.warn("ClickHouse insert failed, retrying in {} ms: {}", backoff, e.getMessage());
        // Keep the group membership alive without fetching more while we wait.
        consumer.pause(consumer.assignment());
        consumer.poll(Duration.ofMillis(backoff));
        backoff = Math.min(backoff * 2, MAX_BACKOFF.toMillis());
      }
    }
    throw new WakeupException();
  }

  private void commit(ConsumerRecords<String, byte[]> records) {
    consumer.resume(consumer.paused());
    Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
    Set<TopicPartition> assigned = consumer.assignment();
    for (TopicPartition partition : records.partitions()) {
      if (assigned.contains(partition)) {
        List<ConsumerRecord<String, byte[]>> inPartition = records.records(partition);
        offsets.put(partition, new OffsetAndMetadata(inPartition.get(inPartition.size() - 1).offset() + 1));
      }
    }
    try {
      consumer.commitSync(offsets);
    } catch (CommitFailedException e) {
      // Lost the partitions in a rebalance: their new owner re-reads and re-inserts the same rows, which is harmless.
      LOG.info("offset commit after a rebalance failed; the rows will be written again: {}", e.getMessage());
    }
  }

  @Override
  public void close() {
    running = false;
    consumer.wakeup();
    try {
      thread.join(Duration.ofSeconds(30).toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
