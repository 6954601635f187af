package io.tallyhouse.stream.maintenance;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListConsumerGroupOffsetsOptions;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.GroupIdNotFoundException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a generation switch asks Kafka: topic ids, consumer groups' committed offsets and members,
 * offset copies.
 */
final class GroupOffsets {

  private static final Logger LOG = LoggerFactory.getLogger(GroupOffsets.class);

  /** Longer than the session timeout of the stream's consumers (10 s, UsageStreamApp) by far. */
  static final Duration MEMBERS_WAIT = Duration.ofSeconds(60);

  static final long TIMEOUT_SECONDS = 30;

  private GroupOffsets() {}

  /**
   * Commits {@code offsets} for {@code group} unless it already has offsets of {@code topic} (it
   * ran before).
   */
  static void copyUnlessPresent(
      Admin admin, String group, Map<TopicPartition, OffsetAndMetadata> offsets, String topic)
      throws ExecutionException, InterruptedException, TimeoutException {
    if (offsets.isEmpty() || !only(committed(admin, group), topic).isEmpty()) {
      return;
    }
    admin.alterConsumerGroupOffsets(group, offsets).all().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
  }

  static Map<TopicPartition, OffsetAndMetadata> only(
      Map<TopicPartition, OffsetAndMetadata> offsets, String topic) {
    Map<TopicPartition, OffsetAndMetadata> result = new HashMap<>();
    offsets.forEach(
        (partition, offset) -> {
          if (partition.topic().equals(topic) && offset != null) {
            result.put(partition, offset);
          }
        });
    return result;
  }

  static Map<TopicPartition, OffsetAndMetadata> committed(Admin admin, String group)
      throws ExecutionException, InterruptedException, TimeoutException {
    // Stable: an offset of a transaction still open (the old application just stopped) is waited
    // for.
    return admin
        .listConsumerGroupOffsets(group, new ListConsumerGroupOffsetsOptions().requireStable(true))
        .partitionsToOffsetAndMetadata()
        .get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
  }

  /**
   * The members of {@code group}, waiting up to {@link #MEMBERS_WAIT} for them to go: a Kafka
   * Streams instance that stopped does not leave its group, it stays a member until its session
   * times out.
   */
  static int awaitNoMembers(Admin admin, String group)
      throws ExecutionException, InterruptedException, TimeoutException {
    long deadline = System.nanoTime() + MEMBERS_WAIT.toNanos();
    int members = members(admin, group);
    while (members > 0 && System.nanoTime() < deadline) {
      LOG.info("waiting for the {} member(s) of group {} to leave or time out", members, group);
      Thread.sleep(1_000);
      members = members(admin, group);
    }
    return members;
  }

  static int members(Admin admin, String group)
      throws ExecutionException, InterruptedException, TimeoutException {
    try {
      return admin
          .describeConsumerGroups(List.of(group))
          .describedGroups()
          .get(group)
          .get(TIMEOUT_SECONDS, TimeUnit.SECONDS)
          .members()
          .size();
    } catch (ExecutionException e) {
      if (e.getCause() instanceof GroupIdNotFoundException) {
        return 0;
      }
      throw e;
    }
  }

  /** The topic's id, or null when it does not exist. */
  static String topicId(Admin admin, String topic)
      throws ExecutionException, InterruptedException, TimeoutException {
    try {
      return admin
          .describeTopics(List.of(topic))
          .allTopicNames()
          .get(TIMEOUT_SECONDS, TimeUnit.SECONDS)
          .get(topic)
          .topicId()
          .toString();
    } catch (ExecutionException e) {
      if (e.getCause() instanceof UnknownTopicOrPartitionException) {
        return null;
      }
      throw e;
    }
  }

  /** The topic's partition count, as the broker describes it. */
  static int partitionCount(Admin admin, String topic)
      throws ExecutionException, InterruptedException, TimeoutException {
    return admin
        .describeTopics(List.of(topic))
        .allTopicNames()
        .get(TIMEOUT_SECONDS, TimeUnit.SECONDS)
        .get(topic)
        .partitions()
        .size();
  }
}
