package io.tallyhouse.stream;

import com.fasterxml.jackson.databind.JsonNode;
import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.ClickHouseException;
import io.tallyhouse.common.clickhouse.Migrations;
import io.tallyhouse.common.clickhouse.SqlLiteral;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListConsumerGroupOffsetsOptions;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.GroupIdNotFoundException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Generations of the stream and the usage_daily shard numbers each one owns (DESIGN.md, "Generations").
 *
 * <p>A generation is the life of one rollups changelog topic on one Kafka cluster, named by the topic's id. A new
 * APPLICATION_ID, the streams reset tool or another cluster starts a new one with empty stores, so its rollup versions
 * start at 1 again: written to the old shards they would lose against the old, higher versions. Each generation
 * therefore writes to a block of shards of its own (shard = shard base + partition), recorded in ClickHouse's
 * {@code stream_generations}, and its rows add to the older ones'.
 *
 * <p>A new generation would also read the events topic from its earliest offset and count again what the old one
 * counted. So before the stream starts, a new generation is refused while ClickHouse holds counts, unless the
 * operator says where its input starts: {@code CONTINUE_FROM_APPLICATION_ID} (the old application's offsets are
 * copied) or {@code NEW_GENERATION_AFTER} (the offsets were set by hand).
 */
final class StreamGenerations {

  private static final Logger LOG = LoggerFactory.getLogger(StreamGenerations.class);
  /** usage_daily.shard is a UInt16. */
  static final int SHARDS = 1 << 16;
  /** The generation id standing for usage_daily rows written before generations were recorded. */
  static final String UNRECORDED = "unrecorded";
  private static final Duration CLICKHOUSE_WAIT = Duration.ofMinutes(2);
  /** Longer than the session timeout of the stream's consumers (10 s, UsageStreamApp) by far. */
  private static final Duration MEMBERS_WAIT = Duration.ofSeconds(60);
  private static final long TIMEOUT_SECONDS = 30;

  /** What the operator set for the start of a new generation (both null: nothing). */
  record Switch(String continueFromApplicationId, String newGenerationAfter) {
    static Switch fromEnv(Map<String, String> env) {
      return new Switch(blankToNull(env.get("CONTINUE_FROM_APPLICATION_ID")),
          blankToNull(env.get("NEW_GENERATION_AFTER")));
    }

    private static String blankToNull(String value) {
      return value == null || value.isBlank() ? null : value.trim();
    }
  }

  /** One recorded generation: shards [shardBase, shardBase + partitions) of usage_daily are its own. */
  record Generation(String clusterId, String topicId, String applicationId, String rollupsTopic, int shardBase,
      int partitions) {

    int end() {
      return shardBase + partitions;
    }

    boolean is(String cluster, String topic) {
      return clusterId.equals(cluster) && topicId.equals(topic);
    }

    @Override
    public String toString() {
      return "generation " + topicId + " (application " + (applicationId.isEmpty() ? "unknown" : applicationId)
          + ", Kafka cluster " + (clusterId.isEmpty() ? "unknown" : clusterId) + ", shards " + shardBase + "-"
          + (end() - 1) + ")";
    }
  }

  private final StreamConfig config;
  private final ClickHouse clickHouse;

  StreamGenerations(StreamConfig config, ClickHouse clickHouse) {
    this.config = config;
    this.clickHouse = clickHouse;
  }

  /**
   * Run before Kafka Streams starts. A generation whose changelog exists has started before and reads on from its
   * own offsets. A new one may start when ClickHouse holds no counts, or when the operator said where its input
   * starts (then, for CONTINUE_FROM_APPLICATION_ID, the old application's offsets are copied here); otherwise this
   * throws IllegalStateException saying how to proceed.
   */
  void checkBeforeStart() {
    try (Admin admin = admin()) {
      String cluster = admin.describeCluster().clusterId().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
      if (topicId(admin, config.rollupsTopic()) != null) {
        return;
      }
      awaitTables();
      List<Generation> recorded = recorded();
      long shardsInUse = shardsInUse();
      Switch given = config.generationSwitch();
      if (recorded.isEmpty() && shardsInUse == 0) {
        LOG.info("first generation of the stream in ClickHouse database {}, which holds no counts: {} is read from"
            + " this application's committed offsets or from its beginning{}", clickHouse.database(),
            config.eventsTopic(), given.equals(new Switch(null, null)) ? "" : " (" + given + " does not apply)");
        return;
      }
      if (given.continueFromApplicationId() != null) {
        continueFrom(admin, cluster, given.continueFromApplicationId());
        return;
      }
      String newest = newestId(recorded);
      if (newest.equals(given.newGenerationAfter())) {
        if (recorded.isEmpty()) {
          record(new Generation("", UNRECORDED, "", "", 0, (int) shardsInUse));
        }
        LOG.warn("a new generation of the stream starts after {} (NEW_GENERATION_AFTER), reading {} from this"
            + " application's committed offsets, or from the beginning where it has none", newest,
            config.eventsTopic());
        return;
      }
      throw new IllegalStateException(refusal(cluster, recorded, shardsInUse, given.newGenerationAfter()));
    } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
      throw new IllegalStateException("cannot check the stream's generation on Kafka: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while checking the stream's generation", e);
    }
  }

  /**
   * For the writer: the rollups topics to read and the shard base of each. Waits for this generation's changelog
   * (Kafka Streams creates it when it first assigns tasks) and records the generation if it is new. A predecessor's
   * changelog whose writer position was handed over (CONTINUE_FROM_APPLICATION_ID) is read too, so the rollups its
   * writer had not written yet reach the predecessor's shards. Retries while Kafka or ClickHouse cannot answer;
   * returns null when {@code running} turns false first.
   */
  Map<String, Integer> writerShardBases(BooleanSupplier running) throws InterruptedException {
    long backoff = 100;
    while (running.getAsBoolean()) {
      try (Admin admin = admin()) {
        String cluster = admin.describeCluster().clusterId().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        String own = topicId(admin, config.rollupsTopic());
        if (own != null) {
          Map<String, Integer> bases = new LinkedHashMap<>();
          bases.put(config.rollupsTopic(),
              register(cluster, own, config.applicationId(), config.rollupsTopic()).shardBase());
          List<Generation> recorded = recorded();
          Set<String> handedOver = new TreeSet<>();
          committed(admin, writerGroup(config.applicationId())).keySet().forEach(p -> handedOver.add(p.topic()));
          handedOver.removeAll(List.of(config.rollupsTopic(), config.rawEventsTopic()));
          for (String topic : handedOver) {
            String id = topicId(admin, topic);
            recorded.stream().filter(g -> id != null && g.is(cluster, id)).findFirst()
                .ifPresent(g -> bases.put(topic, g.shardBase()));
          }
          LOG.info("the writer reads the rollups topics {} into the shards starting at {}", bases.keySet(),
              bases.values());
          return bases;
        }
        LOG.info("waiting for Kafka Streams to create the rollups topic {}", config.rollupsTopic());
      } catch (ExecutionException | java.util.concurrent.TimeoutException | KafkaException | ClickHouseException e) {
        LOG.warn("cannot find the stream's generation, retrying in {} ms: {}", backoff, e.getMessage());
      }
      Thread.sleep(backoff);
      backoff = Math.min(backoff * 2, 5_000);
    }
    return null;
  }

  /**
   * The shard base of the generation {@code (cluster, topicId)}, recorded now if it is not yet: 0 when no generation
   * is recorded (a first generation, or the one that wrote the rows of a database from before generations), else the
   * first free block.
   */
  Generation register(String cluster, String topicId, String applicationId, String rollupsTopic) {
    Optional<Generation> known = find(recorded(), cluster, topicId);
    if (known.isPresent()) {
      return known.get();
    }
    // The shards in use before the generations: another instance of this generation recording it and writing its
    // first rows in between is then found below instead of pushing this block above its own rows.
    long shardsInUse = shardsInUse();
    List<Generation> recorded = recorded();
    known = find(recorded, cluster, topicId);
    if (known.isPresent()) {
      return known.get();
    }
    int base = recorded.isEmpty() ? 0 : nextShardBase(recorded, shardsInUse, config.eventsPartitions());
    record(new Generation(cluster, topicId, applicationId, rollupsTopic, base, config.eventsPartitions()));
    Generation mine = find(recorded(), cluster, topicId).orElseThrow();
    LOG.info("recorded the stream's new {}", mine);
    return mine;
  }

  /** The first shard of a new generation's block: after every recorded block and every shard with rows. */
  static int nextShardBase(List<Generation> recorded, long shardsInUse, int partitions) {
    long base = Math.max(shardsInUse, recorded.stream().mapToLong(Generation::end).max().orElse(0));
    if (base + partitions > SHARDS) {
      throw new IllegalStateException("no room for another generation of " + partitions + " shards: usage_daily's"
          + " shard numbers (0-" + (SHARDS - 1) + ") up to " + (base - 1) + " are taken by earlier generations");
    }
    return (int) base;
  }

  /**
   * The generation {@code (cluster, topicId)} among the recorded ones. Refuses recorded generations that would write
   * into each other's rows: one generation with two blocks, or two with overlapping blocks (two new generations
   * recorded at the same moment).
   */
  static Optional<Generation> find(List<Generation> recorded, String cluster, String topicId) {
    List<Generation> sorted = recorded.stream().sorted(Comparator.comparingInt(Generation::shardBase)).toList();
    for (int i = 1; i < sorted.size(); i++) {
      Generation before = sorted.get(i - 1);
      Generation after = sorted.get(i);
      if (after.shardBase() < before.end() || before.is(after.clusterId(), after.topicId())) {
        throw new IllegalStateException("stream_generations holds conflicting blocks of shards: " + before + " and "
            + after + ". Delete the row of the one that has written no usage_daily rows yet (ALTER TABLE"
            + " stream_generations DELETE WHERE changelog_topic_id = '...') and start again");
      }
    }
    return sorted.stream().filter(g -> g.is(cluster, topicId)).findFirst();
  }

  /** The generation a new one follows: the one recorded last (blocks are handed out in rising order). */
  static String newestId(List<Generation> recorded) {
    return recorded.stream().max(Comparator.comparingInt(Generation::shardBase)).map(Generation::topicId)
        .orElse(UNRECORDED);
  }

  private String refusal(String cluster, List<Generation> recorded, long shardsInUse, String staleAfter) {
    String app = config.applicationId();
    String newest = newestId(recorded);
    String holder = recorded.isEmpty()
        ? "rows written before generations were recorded (shards 0-" + (shardsInUse - 1) + ")"
        : recorded.stream().max(Comparator.comparingInt(Generation::shardBase)).orElseThrow().toString();
    String previousApp = recorded.stream().max(Comparator.comparingInt(Generation::shardBase))
        .map(Generation::applicationId).filter(a -> !a.isEmpty()).orElse("<the previous APPLICATION_ID>");
    return "usage-stream will not start a new generation of the stream: its rollups changelog "
        + config.rollupsTopic() + " does not exist on Kafka cluster " + cluster + " (a new APPLICATION_ID, the"
        + " streams reset tool, or another Kafka cluster), and ClickHouse database " + clickHouse.database()
        + " already holds counts, newest from " + holder + ". Started as it is, the new generation would read "
        + config.eventsTopic() + " from this application's committed offsets or, without them, from the beginning,"
        + " and count again what was counted before."
        + (staleAfter == null ? "" : " NEW_GENERATION_AFTER=" + staleAfter + " does not name the newest generation.")
        + " To go on under a new APPLICATION_ID on the same Kafka cluster: stop every instance of the old"
        + " application, then set CONTINUE_FROM_APPLICATION_ID=" + previousApp + " (its offsets of "
        + config.eventsTopic() + " and its writer's position are copied to " + app + " before the stream starts)."
        + " If you have set this application's offsets of " + config.eventsTopic() + " yourself (the reset tool run"
        + " without --input-topics, or a new cluster whose events topic holds only events never counted before),"
        + " set NEW_GENERATION_AFTER=" + newest + ". See usage-stream/DESIGN.md, \"Generations\".";
  }

  /**
   * Takes over from the stopped application {@code previous} on this cluster: records its generation if needed,
   * copies its offsets of the events topic to this application's group and its writer's offsets (distinct events
   * and its rollups topic) to this application's writer group, unless those already have offsets of their own.
   */
  private void continueFrom(Admin admin, String cluster, String previous)
      throws ExecutionException, InterruptedException, java.util.concurrent.TimeoutException {
    String app = config.applicationId();
    String previousRollups = UsageTopology.rollupsTopic(previous);
    String setting = "CONTINUE_FROM_APPLICATION_ID=" + previous + ": ";
    if (previous.equals(app)) {
      throw new IllegalStateException(setting + "names this application itself; name the one it takes over from");
    }
    String previousTopicId = topicId(admin, previousRollups);
    if (previousTopicId == null) {
      throw new IllegalStateException(setting + "its rollups topic " + previousRollups + " does not exist on Kafka"
          + " cluster " + cluster + ", so its offsets cannot be taken over (another cluster: see NEW_GENERATION_AFTER"
          + " in usage-stream/DESIGN.md, \"Generations\")");
    }
    Generation before = register(cluster, previousTopicId, previous, previousRollups);
    List<Generation> recorded = recorded();
    if (!newestId(recorded).equals(before.topicId())) {
      throw new IllegalStateException(setting + "that is " + before + ", but "
          + recorded.stream().max(Comparator.comparingInt(Generation::shardBase)).orElseThrow()
          + " came after it: continue from that one");
    }
    for (String group : List.of(previous, writerGroup(previous))) {
      int members = awaitNoMembers(admin, group);
      if (members > 0) {
        throw new IllegalStateException(setting + "its group " + group + " still has " + members + " member(s) after "
            + MEMBERS_WAIT.toSeconds() + " s: stop every instance of " + previous + " first");
      }
    }
    Map<TopicPartition, OffsetAndMetadata> input = only(committed(admin, previous), config.eventsTopic());
    if (input.isEmpty()) {
      throw new IllegalStateException(setting + "its group " + previous + " has no committed offsets of "
          + config.eventsTopic() + " (expired after the group stayed empty longer than the broker's"
          + " offsets.retention.minutes?): set this application's offsets yourself and use NEW_GENERATION_AFTER="
          + before.topicId());
    }
    copyUnlessPresent(admin, app, input, config.eventsTopic());
    Map<TopicPartition, OffsetAndMetadata> writer = committed(admin, writerGroup(previous));
    Map<TopicPartition, OffsetAndMetadata> handOver = new HashMap<>(only(writer, config.rawEventsTopic()));
    handOver.putAll(only(writer, previousRollups));
    copyUnlessPresent(admin, writerGroup(app), handOver, config.rawEventsTopic());
    LOG.warn("a new generation of the stream continues from {}: {} reads {} from its offsets, and the writer finishes"
        + " {}", before, app, config.eventsTopic(), previousRollups);
  }

  /** Commits {@code offsets} for {@code group} unless it already has offsets of {@code topic} (it ran before). */
  private static void copyUnlessPresent(Admin admin, String group, Map<TopicPartition, OffsetAndMetadata> offsets,
      String topic) throws ExecutionException, InterruptedException, java.util.concurrent.TimeoutException {
    if (offsets.isEmpty() || !only(committed(admin, group), topic).isEmpty()) {
      return;
    }
    admin.alterConsumerGroupOffsets(group, offsets).all().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
  }

  private static Map<TopicPartition, OffsetAndMetadata> only(Map<TopicPartition, OffsetAndMetadata> offsets,
      String topic) {
    Map<TopicPartition, OffsetAndMetadata> result = new HashMap<>();
    offsets.forEach((partition, offset) -> {
      if (partition.topic().equals(topic) && offset != null) {
        result.put(partition, offset);
      }
    });
    return result;
  }

  private static Map<TopicPartition, OffsetAndMetadata> committed(Admin admin, String group)
      throws ExecutionException, InterruptedException, java.util.concurrent.TimeoutException {
    // Stable: an offset of a transaction still open (the old application just stopped) is waited for.
    return admin.listConsumerGroupOffsets(group, new ListConsumerGroupOffsetsOptions().requireStable(true))
        .partitionsToOffsetAndMetadata().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
  }

  /**
   * The members of {@code group}, waiting up to {@link #MEMBERS_WAIT} for them to go: a Kafka Streams instance that
   * stopped does not leave its group, it stays a member until its session times out.
   */
  private static int awaitNoMembers(Admin admin, String group)
      throws ExecutionException, InterruptedException, java.util.concurrent.TimeoutException {
    long deadline = System.nanoTime() + MEMBERS_WAIT.toNanos();
    int members = members(admin, group);
    while (members > 0 && System.nanoTime() < deadline) {
      LOG.info("waiting for the {} member(s) of group {} to leave or time out", members, group);
      Thread.sleep(1_000);
      members = members(admin, group);
    }
    return members;
  }

  private static int members(Admin admin, String group)
      throws ExecutionException, InterruptedException, java.util.concurrent.TimeoutException {
    try {
      return admin.describeConsumerGroups(List.of(group)).describedGroups().get(group)
          .get(TIMEOUT_SECONDS, TimeUnit.SECONDS).members().size();
    } catch (ExecutionException e) {
      if (e.getCause() instanceof GroupIdNotFoundException) {
        return 0;
      }
      throw e;
    }
  }

  /** The topic's id, or null when it does not exist. */
  private static String topicId(Admin admin, String topic)
      throws ExecutionException, InterruptedException, java.util.concurrent.TimeoutException {
    try {
      return admin.describeTopics(List.of(topic)).allTopicNames().get(TIMEOUT_SECONDS, TimeUnit.SECONDS).get(topic)
          .topicId().toString();
    } catch (ExecutionException e) {
      if (e.getCause() instanceof UnknownTopicOrPartitionException) {
        return null;
      }
      throw e;
    }
  }

  static String writerGroup(String applicationId) {
    return applicationId + "-clickhouse-writer";
  }

  /** Applies the migrations; waits a while for a ClickHouse that does not answer. */
  private void awaitTables() throws InterruptedException {
    long deadline = System.nanoTime() + CLICKHOUSE_WAIT.toNanos();
    long backoff = 100;
    while (true) {
      try {
        Migrations.apply(clickHouse);
        return;
      } catch (ClickHouseException e) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("a new generation of the stream starts only after ClickHouse told whether"
              + " it holds counts already, and ClickHouse did not answer for " + CLICKHOUSE_WAIT.toSeconds()
              + " s: " + e.getMessage(), e);
        }
        LOG.warn("a new generation of the stream waits for ClickHouse, retrying in {} ms: {}", backoff,
            e.getMessage());
        Thread.sleep(backoff);
        backoff = Math.min(backoff * 2, 5_000);
      }
    }
  }

  /** The recorded generations, one row each (a generation recorded twice with the same block counts once). */
  List<Generation> recorded() {
    List<Generation> result = new ArrayList<>();
    for (JsonNode row : clickHouse.query("SELECT DISTINCT kafka_cluster_id, changelog_topic_id, application_id,"
        + " rollups_topic, shard_base, partitions FROM stream_generations ORDER BY shard_base")) {
      result.add(new Generation(row.get("kafka_cluster_id").asText(), row.get("changelog_topic_id").asText(),
          row.get("application_id").asText(), row.get("rollups_topic").asText(),
          Integer.parseInt(row.get("shard_base").asText()), Integer.parseInt(row.get("partitions").asText())));
    }
    return result;
  }

  /** The highest shard with usage_daily rows plus one; 0 when there are none. */
  private long shardsInUse() {
    JsonNode row = clickHouse.query("SELECT count() AS n, max(shard) AS top FROM usage_daily").get(0);
    return Long.parseLong(row.get("n").asText()) == 0 ? 0 : Long.parseLong(row.get("top").asText()) + 1;
  }

  private void record(Generation g) {
    clickHouse.execute("INSERT INTO stream_generations (kafka_cluster_id, changelog_topic_id, application_id,"
        + " rollups_topic, shard_base, partitions, registered_at) VALUES (" + SqlLiteral.string(g.clusterId()) + ", "
        + SqlLiteral.string(g.topicId()) + ", " + SqlLiteral.string(g.applicationId()) + ", "
        + SqlLiteral.string(g.rollupsTopic()) + ", " + g.shardBase() + ", " + g.partitions() + ", now())");
  }

  private Admin admin() {
    return Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers()));
  }
}
