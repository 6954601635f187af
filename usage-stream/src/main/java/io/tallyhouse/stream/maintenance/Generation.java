package io.tallyhouse.stream.maintenance;

/**
 * One recorded generation of the stream (DESIGN.md, "Generations"): the life of one rollups
 * changelog topic on one Kafka cluster; shards [shardBase, shardBase + partitions) of usage_daily
 * are its own.
 */
public record Generation(
    String clusterId,
    String topicId,
    String applicationId,
    String rollupsTopic,
    int shardBase,
    int partitions) {

  int end() {
    return shardBase + partitions;
  }

  boolean is(String cluster, String topic) {
    return clusterId.equals(cluster) && topicId.equals(topic);
  }

  @Override
  public String toString() {
    return "generation "
        + topicId
        + " (application "
        + (applicationId.isEmpty() ? "unknown" : applicationId)
        + ", Kafka cluster "
        + (clusterId.isEmpty() ? "unknown" : clusterId)
        + ", shards "
        + shardBase
        + "-"
        + (end() - 1)
        + ")";
  }
}
