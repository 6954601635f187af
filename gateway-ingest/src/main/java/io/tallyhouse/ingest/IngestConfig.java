package io.tallyhouse.ingest;

import io.tallyhouse.common.config.PipelineSettings;
import io.tallyhouse.common.config.Settings;
import io.tallyhouse.ingest.http.EndpointSettings;
import io.tallyhouse.ingest.publish.PublishSettings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * Everything gateway-ingest reads from its environment, each variable described for the
 * configuration reference.
 *
 * @param pipeline Kafka, the registry, the events topic and the dedup window, shared with
 *     usage-stream
 * @param http where the HTTP server listens
 * @param keysFile the key file holding the hashed ingest tokens
 * @param maxBodyBytes the largest request body, counted after gzip decoding
 * @param maxEventsPerRequest the most events one request's array may hold
 * @param publishTimeout how long Kafka may take to take a request's records, and again to
 *     acknowledge them
 * @param maxInFlightBytes request bytes (decoded) admitted and not yet answered; past it requests
 *     get 503 at once
 * @param producerOverrides Kafka producer settings from {@code KAFKA_PRODUCER_*} variables (for
 *     example {@code KAFKA_PRODUCER_SECURITY_PROTOCOL} is {@code security.protocol}); the settings
 *     that carry the 202 guarantee and the publish deadline cannot be overridden
 */
public record IngestConfig(
    PipelineSettings pipeline,
    PipelineSettings.Http http,
    Path keysFile,
    int maxBodyBytes,
    int maxEventsPerRequest,
    Duration publishTimeout,
    long maxInFlightBytes,
    Map<String, String> producerOverrides) {

  private static final int DEFAULT_PORT = 8080;

  public IngestConfig {
    producerOverrides = Map.copyOf(producerOverrides);
  }

  /**
   * Reads every variable, noting each broken one in {@code s} (ServiceMain lists them all at once).
   */
  public static IngestConfig read(Settings s) {
    return new IngestConfig(
        PipelineSettings.read(s),
        PipelineSettings.http(s, DEFAULT_PORT),
        PipelineSettings.keysFile(s),
        s.number(
                "MAX_BODY_BYTES",
                "the largest request body in bytes, after gzip decoding; larger gets 413")
            .intOrElse(5 * 1024 * 1024, "5242880 (5 MiB)"),
        s.number("MAX_EVENTS_PER_REQUEST", "the most events one request's array may hold")
            .intOrElse(1000),
        s.number(
                "PUBLISH_TIMEOUT_MS",
                "the longest wait for Kafka to take a request's events, and again for"
                    + " their acknowledgement, before 503")
            .atMost(Integer.MAX_VALUE)
            .millisOrElse(Duration.ofSeconds(10)),
        s.number(
                "MAX_IN_FLIGHT_BYTES",
                "request bytes (decoded) being handled at once; past it a request gets 503")
            .orElse(32L * 1024 * 1024, "33554432 (32 MiB)"),
        s.prefixed(
            "KAFKA_PRODUCER_",
            "any other Kafka producer setting (KAFKA_PRODUCER_SECURITY_PROTOCOL is"
                + " security.protocol); those the 202 guarantee and the publish deadline rest on are refused",
            PublishSettings::fixedSettingProblem));
  }

  /** The publisher's part. */
  public PublishSettings publish() {
    return new PublishSettings(
        pipeline.bootstrapServers(),
        pipeline.eventsTopic(),
        pipeline.eventsPartitions(),
        publishTimeout,
        maxInFlightBytes,
        producerOverrides);
  }

  /** The HTTP side's part. */
  public EndpointSettings endpoint() {
    return new EndpointSettings(
        http.host(), http.port(), maxBodyBytes, maxInFlightBytes, publishTimeout);
  }
}
