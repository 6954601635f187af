package io.tallyhouse.testkit;

/** Where the test servers come from. */
public enum Backend {
  /** In-JVM Kafka broker, Apicurio and clickhouse-server as child processes: no Docker needed. */
  LOCAL,
  /**
   * Testcontainers: apache/kafka, confluentinc/cp-schema-registry, clickhouse/clickhouse-server.
   */
  DOCKER
}
