package io.tallyhouse.common.kafka;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;

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
 */
public final class PipelineTopics {

  static final Map<String, String> CONFIGS =
      Map.of(TopicConfig.MESSAGE_TIMESTAMP_TYPE_CONFIG, "LogAppendTime");

  private PipelineTopics() {}

  /**
   * Creates each missing topic with {@code partitions} partitions and {@link #CONFIGS}, and sets
   * those configs on topics that already exist without them. Fails, naming the topic and the
   * setting, when that is not possible: running on a topic that can silently drop events is worse
   * than not starting.
   */
  public static void ensure(
      Admin admin, Collection<String> names, int partitions, long timeoutMillis) {
    try {
      List<String> existing = new ArrayList<>();
      for (String name : names) {
        NewTopic topic =
            new NewTopic(name, Optional.of(partitions), Optional.empty()).configs(CONFIGS);
        try {
          admin.createTopics(List.of(topic)).all().get(timeoutMillis, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
          if (!(e.getCause() instanceof TopicExistsException)) {
            throw new IllegalStateException(
                "cannot create topic " + name + ": " + e.getCause(), e.getCause());
          }
          existing.add(name);
        }
      }
      for (String name : existing) {
        alignConfigs(admin, name, timeoutMillis);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    } catch (TimeoutException e) {
      throw new IllegalStateException(
          "Kafka did not answer in time while preparing topics " + names, e);
    }
  }

  private static void alignConfigs(Admin admin, String name, long timeoutMillis)
      throws InterruptedException, TimeoutException {
    ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, name);
    try {
      Config current =
          admin
              .describeConfigs(List.of(resource))
              .all()
              .get(timeoutMillis, TimeUnit.MILLISECONDS)
              .get(resource);
      List<AlterConfigOp> changes = new ArrayList<>();
      CONFIGS.forEach(
          (key, value) -> {
            ConfigEntry entry = current.get(key);
            if (entry == null || !value.equals(entry.value())) {
              changes.add(new AlterConfigOp(new ConfigEntry(key, value), AlterConfigOp.OpType.SET));
            }
          });
      if (!changes.isEmpty()) {
        admin
            .incrementalAlterConfigs(Map.of(resource, changes))
            .all()
            .get(timeoutMillis, TimeUnit.MILLISECONDS);
      }
    } catch (ExecutionException e) {
      throw new IllegalStateException(
          "topic "
              + name
              + " must have "
              + CONFIGS
              + " (events older than its"
              + " retention would be deleted unread) and it could not be set: "
              + e.getCause(),
          e.getCause());
    }
  }
}
