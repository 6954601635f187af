package io.tallyhouse.stream.maintenance;

import com.fasterxml.jackson.databind.JsonNode;
import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.ClickHouseException;
import io.tallyhouse.common.clickhouse.SchemaVersion;
import io.tallyhouse.common.clickhouse.SqlLiteral;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The generations recorded in ClickHouse's {@code stream_generations} and the usage_daily shards in
 * use: which block of shards each generation owns, and the block a new one gets.
 */
public final class GenerationLedger {

  private static final Logger LOG = LoggerFactory.getLogger(GenerationLedger.class);

  /** usage_daily.shard is a UInt16. */
  public static final int SHARDS = 1 << 16;

  /** The generation id standing for usage_daily rows written before generations were recorded. */
  public static final String UNRECORDED = "unrecorded";

  private static final Duration CLICKHOUSE_WAIT = Duration.ofMinutes(2);

  private final ClickHouse clickHouse;

  public GenerationLedger(ClickHouse clickHouse) {
    this.clickHouse = clickHouse;
  }

  String database() {
    return clickHouse.database();
  }

  /**
   * The shard base of the generation {@code (cluster, topicId)}, recorded now if it is not yet: 0
   * when no generation is recorded (a first generation, or the one that wrote the rows of a
   * database from before generations), else the first free block.
   */
  Generation register(
      String cluster, String topicId, String applicationId, String rollupsTopic, int partitions)
      throws InterruptedException {
    Optional<Generation> known = find(recorded(), cluster, topicId);
    if (known.isPresent()) {
      return known.get();
    }
    // The shards in use before the generations: another instance of this generation recording it
    // and writing its
    // first rows in between is then found below instead of pushing this block above its own rows.
    long shardsInUse = shardsInUse();
    List<Generation> recorded = recorded();
    known = find(recorded, cluster, topicId);
    if (known.isPresent()) {
      return known.get();
    }
    int base = recorded.isEmpty() ? 0 : nextShardBase(recorded, shardsInUse, partitions);
    record(new Generation(cluster, topicId, applicationId, rollupsTopic, base, partitions));
    Generation mine = awaitRecorded(cluster, topicId);
    LOG.info("recorded the stream's new {}", mine);
    return mine;
  }

  /**
   * Reads back the generation just recorded. On a ClickHouse cluster the row may not be on this
   * node yet: when another instance recorded the identical row through another node a moment
   * earlier, the replicated table drops this insert as a duplicate block and the row arrives here
   * by replication.
   */
  private Generation awaitRecorded(String cluster, String topicId) throws InterruptedException {
    long deadline = System.nanoTime() + CLICKHOUSE_WAIT.toNanos();
    long backoff = 50;
    while (true) {
      Optional<Generation> mine = find(recorded(), cluster, topicId);
      if (mine.isPresent()) {
        return mine.get();
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(
            "the stream's generation (Kafka cluster "
                + cluster
                + ", changelog topic id "
                + topicId
                + ") was recorded in stream_generations but is not visible there after "
                + CLICKHOUSE_WAIT
                + ": is the table's replication working on this node?");
      }
      Thread.sleep(backoff);
      backoff = Math.min(backoff * 2, 2_000);
    }
  }

  /**
   * The first shard of a new generation's block: after every recorded block and every shard with
   * rows.
   */
  static int nextShardBase(List<Generation> recorded, long shardsInUse, int partitions) {
    long base = Math.max(shardsInUse, recorded.stream().mapToLong(Generation::end).max().orElse(0));
    if (base + partitions > SHARDS) {
      throw new IllegalStateException(
          "no room for another generation of "
              + partitions
              + " shards: usage_daily's"
              + " shard numbers (0-"
              + (SHARDS - 1)
              + ") up to "
              + (base - 1)
              + " are taken by earlier generations");
    }
    return (int) base;
  }

  /**
   * The generation {@code (cluster, topicId)} among the recorded ones. Refuses recorded generations
   * that would write into each other's rows: one generation with two blocks, or two with
   * overlapping blocks (two new generations recorded at the same moment).
   */
  static Optional<Generation> find(List<Generation> recorded, String cluster, String topicId) {
    List<Generation> sorted =
        recorded.stream().sorted(Comparator.comparingInt(Generation::shardBase)).toList();
    for (int i = 1; i < sorted.size(); i++) {
      Generation before = sorted.get(i - 1);
      Generation after = sorted.get(i);
      if (after.shardBase() < before.end() || before.is(after.clusterId(), after.topicId())) {
        throw new IllegalStateException(
            "stream_generations holds conflicting blocks of shards: "
                + before
                + " and "
                + after
                + ". Delete the row of the one that has written no usage_daily rows yet (ALTER TABLE"
                + " stream_generations DELETE WHERE changelog_topic_id = '...') and start again");
      }
    }
    return sorted.stream().filter(g -> g.is(cluster, topicId)).findFirst();
  }

  /**
   * The generation a new one follows: the one recorded last (blocks are handed out in rising
   * order).
   */
  static String newestId(List<Generation> recorded) {
    return recorded.stream()
        .max(Comparator.comparingInt(Generation::shardBase))
        .map(Generation::topicId)
        .orElse(UNRECORDED);
  }

  /**
   * Checks the schema version (SchemaVersion: refuses a database behind this build); waits a while
   * for a ClickHouse that does not answer, not for one that refuses the connection settings.
   */
  void awaitSchema() throws InterruptedException {
    long deadline = System.nanoTime() + CLICKHOUSE_WAIT.toNanos();
    long backoff = 100;
    while (true) {
      try {
        SchemaVersion.require(clickHouse);
        return;
      } catch (ClickHouseException e) {
        if (e.misconfigured()) {
          throw e;
        }
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException(
              "a new generation of the stream starts only after ClickHouse told whether"
                  + " it holds counts already, and ClickHouse did not answer for "
                  + CLICKHOUSE_WAIT.toSeconds()
                  + " s: "
                  + e.getMessage(),
              e);
        }
        LOG.warn(
            "a new generation of the stream waits for ClickHouse, retrying in {} ms: {}",
            backoff,
            e.getMessage());
        Thread.sleep(backoff);
        backoff = Math.min(backoff * 2, 5_000);
      }
    }
  }

  /**
   * The recorded generations, one row each (a generation recorded twice with the same block counts
   * once).
   */
  List<Generation> recorded() {
    List<Generation> result = new ArrayList<>();
    for (JsonNode row :
        clickHouse.query(
            "SELECT DISTINCT kafka_cluster_id, changelog_topic_id, application_id,"
                + " rollups_topic, shard_base, partitions FROM stream_generations ORDER BY shard_base")) {
      result.add(
          new Generation(
              row.get("kafka_cluster_id").asText(),
              row.get("changelog_topic_id").asText(),
              row.get("application_id").asText(),
              row.get("rollups_topic").asText(),
              Integer.parseInt(row.get("shard_base").asText()),
              Integer.parseInt(row.get("partitions").asText())));
    }
    return result;
  }

  /** The highest shard with usage_daily rows plus one; 0 when there are none. */
  long shardsInUse() {
    JsonNode row =
        clickHouse.query("SELECT count() AS n, max(shard) AS top FROM usage_daily").get(0);
    return Long.parseLong(row.get("n").asText()) == 0
        ? 0
        : Long.parseLong(row.get("top").asText()) + 1;
  }

  void record(Generation g) {
    clickHouse.execute(
        "INSERT INTO stream_generations (kafka_cluster_id, changelog_topic_id, application_id,"
            + " rollups_topic, shard_base, partitions, registered_at) VALUES ("
            + SqlLiteral.string(g.clusterId())
            + ", "
            + SqlLiteral.string(g.topicId())
            + ", "
            + SqlLiteral.string(g.applicationId())
            + ", "
            + SqlLiteral.string(g.rollupsTopic())
            + ", "
            + g.shardBase()
            + ", "
            + g.partitions()
            + ", now())");
  }
}
