package io.tallyhouse.ingest.http;

import java.time.Duration;

/**
 * The HTTP side's settings.
 *
 * @param host the address the server binds
 * @param port the port (0 picks a free one)
 * @param maxBodyBytes the largest body, counted after gzip decoding; larger gets 413
 * @param maxInFlightBytes request bytes (decoded) admitted and not yet answered; past it a request
 *     gets 503 at once
 * @param publishTimeout how long Kafka may take to take a request's records, and again to
 *     acknowledge them
 */
public record EndpointSettings(
    String host, int port, int maxBodyBytes, long maxInFlightBytes, Duration publishTimeout) {}
