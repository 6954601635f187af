package io.tallyhouse.testkit;

import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;

/** What tests and benchmarks ask the broker about the pipeline's consumer groups while it runs. */
public final class ConsumerGroups {

  private ConsumerGroups() {}

  /**
   * The offsets {@code group} committed, summed over its partitions; -1 while the broker does not
   * answer (a test waiting for progress treats that as no progress, not as a failure).
   */
  public static long committedSum(Admin admin, String group) {
    try {
      return admin
          .listConsumerGroupOffsets(group)
          .partitionsToOffsetAndMetadata()
          .get(30, TimeUnit.SECONDS)
          .values()
          .stream()
          .filter(Objects::nonNull)
          .mapToLong(OffsetAndMetadata::offset)
          .sum();
    } catch (Exception e) {
      return -1;
    }
  }
}
