package io.tallyhouse.common.http;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

/**
 * The one request timer of the services' APIs, {@code http_server_requests_seconds{route,status}}:
 * gateway-ingest and activity-query register it under the same name, tags and histogram, so one
 * expression (for example the share of 5xx answers) covers both.
 */
public final class HttpRequestMetrics {

  public static final String NAME = "http_server_requests";

  private HttpRequestMetrics() {}

  /**
   * The timer of answers on {@code route} (the route's template, never the raw path) with {@code
   * status} (the HTTP status sent, or a word a service documents for a response it could not
   * finish).
   */
  public static Timer timer(MeterRegistry metrics, String route, String status) {
    return Timer.builder(NAME)
        .description("API requests by route and HTTP status, from arrival to the end of the answer")
        .tag("route", route)
        .tag("status", status)
        .publishPercentileHistogram()
        .register(metrics);
  }
}
