package io.tallyhouse.ingest;

import io.tallyhouse.schemas.registry.RegistryConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * Settings of gateway-ingest, from the environment.
 *
 * @param publishTimeout how long a request may wait for Kafka's acknowledgement before it gets 503
 * @param maxInFlightBytes request bytes accepted and not yet answered; beyond it requests get 503 at once
 */
public record IngestConfig(
    String httpHost, int httpPort, String bootstrapServers, RegistryConfig registry, String eventsTopic,
    int eventsPartitions, Path keysFile, Duration dedupWindow, int maxBodyBytes, int maxEvents,
    Duration publishTimeout, long maxInFlightBytes) {

  public static IngestConfig fromEnv(Map<String, String> env) {
    return new IngestConfig(
        env.getOrDefault("HTTP_HOST", "127.0.0.1"),
        Integer.parseInt(env.getOrDefault("HTTP_PORT", "8080")),
        env.getOrDefault("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
        RegistryConfig.fromEnv(env),
        env.getOrDefault("EVENTS_TOPIC", "usage-events"),
        Integer.parseInt(env.getOrDefault("EVENTS_PARTITIONS", "6")),
        Path.of(env.getOrDefault("KEYS_FILE", ".run/keys.jsonl")),
        Duration.ofDays(Long.parseLong(env.getOrDefault("DEDUP_WINDOW_DAYS", "35"))),
        Integer.parseInt(env.getOrDefault("MAX_BODY_BYTES", String.valueOf(5 * 1024 * 1024))),
        Integer.parseInt(env.getOrDefault("MAX_EVENTS_PER_REQUEST", "1000")),
        Duration.ofMillis(Long.parseLong(env.getOrDefault("PUBLISH_TIMEOUT_MS", "10000"))),
        Long.parseLong(env.getOrDefault("MAX_IN_FLIGHT_BYTES", String.valueOf(32L * 1024 * 1024))));
  }
}
