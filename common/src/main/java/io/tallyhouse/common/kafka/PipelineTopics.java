package io.tallyhouse.common.kafka;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

/**
 * The topics events travel through (events, distinct events, dead letters), created and checked the
 * same way by every service that may be first to start.
 *
 * <p>Their records carry the event's {@code created_at} as timestamp, which may be up to the dedup
 * window (35 days) old. With the default {@code CreateTime}, time-based retention and segment
 * rolling go by those timestamps: a segment holding only late events is deleted at the next
 * retention check, possibly before the stream or its ClickHouse writer read it, and accepted events
 * vanish without an error. With {@code LogAppendTime} the broker stamps each record when it is
 * written, so retention counts from then: a reader may fall behind by up to the topic's retention
 * ({@code retention.ms}, the broker's default unless set) without losing anything.
 *
 * <p>Their records are keyed by account, so a compacted topic would keep only the last event of
 * each account: {@code cleanup.policy} must be {@code delete}.
 *
 * <p>An existing topic is only described, never created or altered, so a service whose principal
 * has no CREATE or ALTER on the topics runs when an administrator made them right; one made wrong
 * is refused at start, saying what to set.
 */
public final class PipelineTopics {

  /** The settings every pipeline topic must have, with why. */
  record Required(String key, String value, String why) {}

  static final List<Required> REQUIRED =
      List.of(
          new Required(
              TopicConfig.MESSAGE_TIMESTAMP_TYPE_CONFIG,
              "LogAppendTime",
              "retention would go by event time and delete late events unread"),
          new Required(
              TopicConfig.CLEANUP_POLICY_CONFIG,
              TopicConfig.CLEANUP_POLICY_DELETE,
              "compaction would keep only the last event of each key"));

  static final Map<String, String> CONFIGS = configs();

  private PipelineTopics() {}

  /**
   * Creates each missing topic with {@code partitions} partitions and {@link #CONFIGS}, and checks
   * that each existing one has them, without changing it. Fails, naming the topic, the setting, its
   * value and the command that sets it right, when one does not: running on a topic that can
   * silently drop events is worse than not starting.
   *
   * @return the partition count of each topic, as it is on the broker
   */
  public static Map<String, Integer> ensure(
      Admin admin, Collection<String> names, int partitions, long timeoutMillis) {
    try {
      Map<String, Integer> counts = new LinkedHashMap<>();
      List<String> missing = new ArrayList<>();
      Map<String, KafkaFuture<TopicDescription>> described =
          admin.describeTopics(names).topicNameValues();
      for (String name : names) {
        try {
          TopicDescription description =
              described.get(name).get(timeoutMillis, TimeUnit.MILLISECONDS);
          counts.put(name, description.partitions().size());
        } catch (ExecutionException e) {
          if (!(e.getCause() instanceof UnknownTopicOrPartitionException)) {
            throw new IllegalStateException(
                "cannot describe topic " + name + " (DESCRIBE on it is needed): " + e.getCause(),
                e.getCause());
          }
          missing.add(name);
        }
      }
      List<String> toCheck = new ArrayList<>(counts.keySet());
      for (String name : missing) {
        NewTopic topic =
            new NewTopic(name, Optional.of(partitions), Optional.empty()).configs(CONFIGS);
        try {
          admin.createTopics(List.of(topic)).all().get(timeoutMillis, TimeUnit.MILLISECONDS);
          counts.put(name, partitions);
        } catch (ExecutionException e) {
          if (!(e.getCause() instanceof TopicExistsException)) {
            throw new IllegalStateException(
                "topic " + name + " is missing and cannot be created: " + e.getCause(),
                e.getCause());
          }
          // Another service created it first: take it as it is on the broker.
          counts.put(name, partitionCount(admin, name, timeoutMillis));
          toCheck.add(name);
        }
      }
      checkConfigs(admin, toCheck, timeoutMillis);
      return Map.copyOf(counts);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    } catch (TimeoutException e) {
      throw new IllegalStateException(
          "Kafka did not answer in time while preparing topics " + names, e);
    }
  }

  private static int partitionCount(Admin admin, String name, long timeoutMillis)
      throws InterruptedException, TimeoutException {
    try {
      return admin
          .describeTopics(List.of(name))
          .topicNameValues()
          .get(name)
          .get(timeoutMillis, TimeUnit.MILLISECONDS)
          .partitions()
          .size();
    } catch (ExecutionException e) {
      throw new IllegalStateException("cannot describe topic " + name + ": " + e.getCause(), e);
    }
  }

  private static void checkConfigs(Admin admin, List<String> names, long timeoutMillis)
      throws InterruptedException, TimeoutException {
    if (names.isEmpty()) {
      return;
    }
    List<ConfigResource> resources =
        names.stream().map(name -> new ConfigResource(ConfigResource.Type.TOPIC, name)).toList();
    Map<ConfigResource, Config> configs;
    try {
      configs = admin.describeConfigs(resources).all().get(timeoutMillis, TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      throw new IllegalStateException(
          "cannot read the configs of topics "
              + names
              + " (DESCRIBE_CONFIGS on them is needed): "
              + e.getCause(),
          e.getCause());
    }
    List<String> problems = new ArrayList<>();
    for (ConfigResource resource : resources) {
      problems.addAll(problems(resource.name(), configs.get(resource)));
    }
    if (!problems.isEmpty()) {
      throw new IllegalStateException(String.join("\n", problems));
    }
  }

  /** What is wrong with topic {@code name}'s {@code config}, each with the fix. */
  static List<String> problems(String name, Config config) {
    List<String> problems = new ArrayList<>();
    for (Required required : REQUIRED) {
      ConfigEntry entry = config.get(required.key());
      String current = entry == null ? null : entry.value();
      if (!required.value().equals(current)) {
        problems.add(
            "topic "
                + name
                + " has "
                + required.key()
                + "="
                + current
                + "; set it to "
                + required.value()
                + " ("
                + required.why()
                + "): kafka-configs --alter --entity-type topics --entity-name "
                + name
                + " --add-config "
                + required.key()
                + "="
                + required.value());
      }
    }
    return problems;
  }

  private static Map<String, String> configs() {
    Map<String, String> configs = new LinkedHashMap<>();
    REQUIRED.forEach(required -> configs.put(required.key(), required.value()));
    return Map.copyOf(configs);
  }
}
