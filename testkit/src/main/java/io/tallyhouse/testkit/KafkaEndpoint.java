package io.tallyhouse.testkit;

/** A running Kafka cluster. */
public interface KafkaEndpoint {
  String bootstrapServers();
}
