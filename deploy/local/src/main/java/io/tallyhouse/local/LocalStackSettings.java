package io.tallyhouse.local;

import io.tallyhouse.common.config.Settings;
import java.nio.file.Path;
import java.util.Set;

/**
 * What {@code make run} reads from its environment: where it keeps its state, the demo switch, the
 * keys to fix and the ports of every server and service (the contract's defaults; 0 picks a free
 * one). A key set but empty is refused rather than stored.
 */
public record LocalStackSettings(
    Path home,
    boolean demo,
    String ingestToken,
    String managementKey,
    int ingestPort,
    int queryPort,
    int streamPort,
    int kafkaPort,
    int kafkaControllerPort,
    int registryPort,
    int clickHouseHttpPort,
    int clickHouseTcpPort) {

  public static LocalStackSettings read(Settings s) {
    return s.validate(
        new LocalStackSettings(
            s.text(
                    "TALLYHOUSE_HOME",
                    "the folder of the local stack's state: data/ (Kafka, registry, ClickHouse, the"
                        + " stream's stores; kept across runs) and keys.jsonl")
                .pathOrElse(".run")
                .toAbsolutePath(),
            s.text(
                    "DEMO",
                    "1 also posts 30 days of generated traffic; again on kept data it adds only"
                        + " what is missing (the same event ids, counted once)")
                .oneOf(Set.of("0", "1"))
                .orElse("0")
                .equals("1"),
            s.text(
                    "INGEST_TOKEN",
                    "the ingest token the local stack adds to its key file and prints")
                .orElse(null, "a new one each start"),
            s.text(
                    "MANAGEMENT_KEY",
                    "the management key of account demo the local stack adds to its key file and"
                        + " prints")
                .orElse(null, "a new one each start"),
            s.port("LOCAL_INGEST_PORT", 8080, "gateway-ingest's HTTP port in the local stack"),
            s.port("LOCAL_QUERY_PORT", 8081, "activity-query's HTTP port in the local stack"),
            s.port("LOCAL_STREAM_PORT", 8082, "usage-stream's HTTP port in the local stack"),
            s.port("LOCAL_KAFKA_PORT", 9092, "the local Kafka broker's client port"),
            s.port("LOCAL_KAFKA_CONTROLLER_PORT", 9093, "the local Kafka broker's controller port"),
            s.port("LOCAL_REGISTRY_PORT", 8085, "the local schema registry's HTTP port"),
            s.port("LOCAL_CLICKHOUSE_HTTP_PORT", 8123, "the local ClickHouse server's HTTP port"),
            s.port(
                "LOCAL_CLICKHOUSE_TCP_PORT",
                9000,
                "the local ClickHouse server's native (clickhouse-client) port")));
  }
}
