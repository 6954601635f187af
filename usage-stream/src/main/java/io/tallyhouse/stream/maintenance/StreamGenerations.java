package io.tallyhouse.stream.maintenance;

import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.ClickHouseException;
import io.tallyhouse.common.config.KafkaClientSettings;
import io.tallyhouse.common.config.Settings;
import io.tallyhouse.stream.rollup.RollupStore;
import io.tallyhouse.stream.writer.ClickHouseWriter;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Generations of the stream and the usage_daily shard numbers each one owns (DESIGN.md,
 * "Generations").
 *
 * <p>A generation is the life of one rollups changelog topic on one Kafka cluster, named by the
 * topic's id. A new APPLICATION_ID, the streams reset tool or another cluster starts a new one with
 * empty stores, so its rollup versions start at 1 again: written to the old shards they would lose
 * against the old, higher versions. Each generation therefore writes to a block of shards of its
 * own (shard = shard base + partition), recorded in ClickHouse's {@code stream_generations}, and
 * its rows add to the older ones'.
 *
 * <p>A new generation would also read the events topic from its earliest offset and count again
 * what the old one counted. So before the stream starts, a new generation is refused while
 * ClickHouse holds counts, unless the operator says where its input starts: {@code
 * CONTINUE_FROM_APPLICATION_ID} (the old application's offsets are copied) or {@code
 * NEW_GENERATION_AFTER} (the offsets were set by hand).
 */
public final class StreamGenerations {

  private static final Logger LOG = LoggerFactory.getLogger(StreamGenerations.class);

  /** What the operator set for the start of a new generation (both null: nothing). */
  public record Switch(String continueFromApplicationId, String newGenerationAfter) {
    public static Switch read(Settings s) {
      return new Switch(
          trimmed(
              s.text(
                      "CONTINUE_FROM_APPLICATION_ID",
                      "when a new generation of the stream starts:"
                          + " the stopped application whose offsets it takes over (usage-stream/DESIGN.md, \"Generations\")")
                  .orNull()),
          trimmed(
              s.text(
                      "NEW_GENERATION_AFTER",
                      "when a new generation of the stream starts on offsets set by hand:"
                          + " the id of the newest recorded generation (usage-stream/DESIGN.md, \"Generations\")")
                  .orNull()));
    }

    private static String trimmed(String value) {
      return value == null || value.isBlank() ? null : value.trim();
    }
  }

  /**
   * What the generations of one application depend on.
   *
   * @param distinctEventsTopic the writer's other topic, whose position is handed over with the
   *     rollups topic's
   */
  public record Setup(
      String applicationId,
      KafkaClientSettings kafka,
      String eventsTopic,
      String distinctEventsTopic,
      Switch generationSwitch) {}

  private final Setup setup;
  private final GenerationLedger ledger;
  private final String rollupsTopic;

  public StreamGenerations(Setup setup, ClickHouse clickHouse) {
    this.setup = setup;
    this.ledger = new GenerationLedger(clickHouse);
    this.rollupsTopic = RollupStore.changelogTopic(setup.applicationId());
  }

  /**
   * Run before Kafka Streams starts. A generation whose changelog exists has started before and
   * reads on from its own offsets. A new one may start when ClickHouse holds no counts, or when the
   * operator said where its input starts (then, for CONTINUE_FROM_APPLICATION_ID, the old
   * application's offsets are copied here); otherwise this throws IllegalStateException saying how
   * to proceed.
   */
  public void checkBeforeStart() {
    try (Admin admin = admin()) {
      String cluster =
          admin.describeCluster().clusterId().get(GroupOffsets.TIMEOUT_SECONDS, TimeUnit.SECONDS);
      if (GroupOffsets.topicId(admin, rollupsTopic) != null) {
        return;
      }
      ledger.awaitSchema();
      List<Generation> recorded = ledger.recorded();
      long shardsInUse = ledger.shardsInUse();
      Switch given = setup.generationSwitch();
      if (recorded.isEmpty() && shardsInUse == 0) {
        LOG.info(
            "first generation of the stream in ClickHouse database {}, which holds no counts: {} is read from"
                + " this application's committed offsets or from its beginning{}",
            ledger.database(),
            setup.eventsTopic(),
            given.equals(new Switch(null, null)) ? "" : " (" + given + " does not apply)");
        return;
      }
      if (given.continueFromApplicationId() != null) {
        continueFrom(admin, cluster, given.continueFromApplicationId());
        return;
      }
      String newest = GenerationLedger.newestId(recorded);
      if (newest.equals(given.newGenerationAfter())) {
        if (recorded.isEmpty()) {
          ledger.record(
              new Generation("", GenerationLedger.UNRECORDED, "", "", 0, (int) shardsInUse));
        }
        LOG.warn(
            "a new generation of the stream starts after {} (NEW_GENERATION_AFTER), reading {} from this"
                + " application's committed offsets, or from the beginning where it has none",
            newest,
            setup.eventsTopic());
        return;
      }
      throw new IllegalStateException(
          refusal(cluster, recorded, shardsInUse, given.newGenerationAfter()));
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException(
          "cannot check the stream's generation on Kafka: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while checking the stream's generation", e);
    }
  }

  /**
   * For the writer: the rollups topics to read and the shard base of each. Waits for this
   * generation's changelog (Kafka Streams creates it when it first assigns tasks) and records the
   * generation if it is new. A predecessor's changelog whose writer position was handed over
   * (CONTINUE_FROM_APPLICATION_ID) is read too, so the rollups its writer had not written yet reach
   * the predecessor's shards. Retries while Kafka or ClickHouse cannot answer; returns null when
   * {@code running} turns false first.
   */
  public Map<String, Integer> writerShardBases(BooleanSupplier running)
      throws InterruptedException {
    long backoff = 100;
    while (running.getAsBoolean()) {
      try (Admin admin = admin()) {
        String cluster =
            admin.describeCluster().clusterId().get(GroupOffsets.TIMEOUT_SECONDS, TimeUnit.SECONDS);
        String own = GroupOffsets.topicId(admin, rollupsTopic);
        if (own != null) {
          Map<String, Integer> bases = new LinkedHashMap<>();
          bases.put(
              rollupsTopic,
              ledger
                  .register(
                      cluster,
                      own,
                      setup.applicationId(),
                      rollupsTopic,
                      GroupOffsets.partitionCount(admin, rollupsTopic))
                  .shardBase());
          List<Generation> recorded = ledger.recorded();
          Set<String> handedOver = new TreeSet<>();
          GroupOffsets.committed(admin, ClickHouseWriter.group(setup.applicationId()))
              .keySet()
              .forEach(p -> handedOver.add(p.topic()));
          handedOver.removeAll(List.of(rollupsTopic, setup.distinctEventsTopic()));
          for (String topic : handedOver) {
            String id = GroupOffsets.topicId(admin, topic);
            recorded.stream()
                .filter(g -> id != null && g.is(cluster, id))
                .findFirst()
                .ifPresent(g -> bases.put(topic, g.shardBase()));
          }
          LOG.info(
              "the writer reads the rollups topics {} into the shards starting at {}",
              bases.keySet(),
              bases.values());
          return bases;
        }
        LOG.info("waiting for Kafka Streams to create the rollups topic {}", rollupsTopic);
      } catch (ExecutionException | TimeoutException | KafkaException | ClickHouseException e) {
        LOG.warn(
            "cannot find the stream's generation, retrying in {} ms: {}", backoff, e.getMessage());
      }
      Thread.sleep(backoff);
      backoff = Math.min(backoff * 2, 5_000);
    }
    return null;
  }

  private String refusal(
      String cluster, List<Generation> recorded, long shardsInUse, String staleAfter) {
    String app = setup.applicationId();
    String newest = GenerationLedger.newestId(recorded);
    String holder =
        recorded.isEmpty()
            ? "rows written before generations were recorded (shards 0-" + (shardsInUse - 1) + ")"
            : recorded.stream()
                .max(Comparator.comparingInt(Generation::shardBase))
                .orElseThrow()
                .toString();
    String previousApp =
        recorded.stream()
            .max(Comparator.comparingInt(Generation::shardBase))
            .map(Generation::applicationId)
            .filter(a -> !a.isEmpty())
            .orElse("<the previous APPLICATION_ID>");
    return "usage-stream will not start a new generation of the stream: its rollups changelog "
        + rollupsTopic
        + " does not exist on Kafka cluster "
        + cluster
        + " (a new APPLICATION_ID, the"
        + " streams reset tool, or another Kafka cluster), and ClickHouse database "
        + ledger.database()
        + " already holds counts, newest from "
        + holder
        + ". Started as it is, the new generation would read "
        + setup.eventsTopic()
        + " from this application's committed offsets or, without them, from the beginning,"
        + " and count again what was counted before."
        + (staleAfter == null
            ? ""
            : " NEW_GENERATION_AFTER=" + staleAfter + " does not name the newest generation.")
        + " To go on under a new APPLICATION_ID on the same Kafka cluster: stop every instance of the old"
        + " application, then set CONTINUE_FROM_APPLICATION_ID="
        + previousApp
        + " (its offsets of "
        + setup.eventsTopic()
        + " and its writer's position are copied to "
        + app
        + " before the stream starts)."
        + " If you have set this application's offsets of "
        + setup.eventsTopic()
        + " yourself (the reset tool run"
        + " without --input-topics, or a new cluster whose events topic holds only events never counted before),"
        + " set NEW_GENERATION_AFTER="
        + newest
        + ". See usage-stream/DESIGN.md, \"Generations\".";
  }

  /**
   * Takes over from the stopped application {@code previous} on this cluster: records its
   * generation if needed, copies its offsets of the events topic to this application's group and
   * its writer's offsets (distinct events and its rollups topic) to this application's writer
   * group, unless those already have offsets of their own.
   */
  private void continueFrom(Admin admin, String cluster, String previous)
      throws ExecutionException, InterruptedException, TimeoutException {
    String app = setup.applicationId();
    String previousRollups = RollupStore.changelogTopic(previous);
    String setting = "CONTINUE_FROM_APPLICATION_ID=" + previous + ": ";
    if (previous.equals(app)) {
      throw new IllegalStateException(
          setting + "names this application itself; name the one it takes over from");
    }
    String previousTopicId = GroupOffsets.topicId(admin, previousRollups);
    if (previousTopicId == null) {
      throw new IllegalStateException(
          setting
              + "its rollups topic "
              + previousRollups
              + " does not exist on Kafka"
              + " cluster "
              + cluster
              + ", so its offsets cannot be taken over (another cluster: see NEW_GENERATION_AFTER"
              + " in usage-stream/DESIGN.md, \"Generations\")");
    }
    Generation before =
        ledger.register(
            cluster,
            previousTopicId,
            previous,
            previousRollups,
            GroupOffsets.partitionCount(admin, previousRollups));
    List<Generation> recorded = ledger.recorded();
    if (!GenerationLedger.newestId(recorded).equals(before.topicId())) {
      throw new IllegalStateException(
          setting
              + "that is "
              + before
              + ", but "
              + recorded.stream().max(Comparator.comparingInt(Generation::shardBase)).orElseThrow()
              + " came after it: continue from that one");
    }
    for (String group : List.of(previous, ClickHouseWriter.group(previous))) {
      int members = GroupOffsets.awaitNoMembers(admin, group);
      if (members > 0) {
        throw new IllegalStateException(
            setting
                + "its group "
                + group
                + " still has "
                + members
                + " member(s) after "
                + GroupOffsets.MEMBERS_WAIT.toSeconds()
                + " s: stop every instance of "
                + previous
                + " first");
      }
    }
    Map<TopicPartition, OffsetAndMetadata> input =
        GroupOffsets.only(GroupOffsets.committed(admin, previous), setup.eventsTopic());
    if (input.isEmpty()) {
      throw new IllegalStateException(
          setting
              + "its group "
              + previous
              + " has no committed offsets of "
              + setup.eventsTopic()
              + " (expired after the group stayed empty longer than the broker's"
              + " offsets.retention.minutes?): set this application's offsets yourself and use NEW_GENERATION_AFTER="
              + before.topicId());
    }
    GroupOffsets.copyUnlessPresent(admin, app, input, setup.eventsTopic());
    Map<TopicPartition, OffsetAndMetadata> writer =
        GroupOffsets.committed(admin, ClickHouseWriter.group(previous));
    Map<TopicPartition, OffsetAndMetadata> handOver =
        new HashMap<>(GroupOffsets.only(writer, setup.distinctEventsTopic()));
    handOver.putAll(GroupOffsets.only(writer, previousRollups));
    GroupOffsets.copyUnlessPresent(
        admin, ClickHouseWriter.group(app), handOver, setup.distinctEventsTopic());
    LOG.warn(
        "a new generation of the stream continues from {}: {} reads {} from its offsets, and the writer finishes"
            + " {}",
        before,
        app,
        setup.eventsTopic(),
        previousRollups);
  }

  private Admin admin() {
    return Admin.create(setup.kafka().admin());
  }
}
