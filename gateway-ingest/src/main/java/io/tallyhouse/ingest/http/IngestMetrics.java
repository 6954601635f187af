package io.tallyhouse.ingest.http;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.tallyhouse.common.http.HttpRequestMetrics;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The meters of the events endpoint (the README's {@code /metrics} list,
 * deploy/monitoring/METRICS.md): events accepted, requests refused by reason, producer errors,
 * request time by status and the bytes in flight.
 */
final class IngestMetrics {

  /** The {@code route} tag of the request timer. */
  static final String ROUTE = "/v1/events";

  private final PrometheusMeterRegistry registry;
  private final Counter accepted;
  private final Counter producerErrors;
  private final Map<Integer, Timer> requestTimers = new ConcurrentHashMap<>();
  private final Map<String, Counter> refusals = new ConcurrentHashMap<>();

  IngestMetrics(PrometheusMeterRegistry registry, Admission admission) {
    this.registry = registry;
    this.accepted =
        Counter.builder("ingest_events_accepted")
            .description("events acknowledged with 202")
            .register(registry);
    this.producerErrors =
        Counter.builder("ingest_producer_errors")
            .description(
                "requests whose events Kafka did not take or acknowledge in time (answered 503)")
            .register(registry);
    Gauge.builder("ingest_in_flight_bytes", admission, Admission::inFlightBytes)
        .description("request bytes accepted and not yet answered")
        .register(registry);
  }

  Timer.Sample requestStarted() {
    return Timer.start(registry);
  }

  void requestAnswered(Timer.Sample sample, int status) {
    sample.stop(requestTimer(status));
  }

  void accepted(int events) {
    accepted.increment(events);
  }

  void refused(String reason) {
    refusals
        .computeIfAbsent(
            reason,
            r ->
                Counter.builder("ingest_requests_rejected")
                    .description("requests answered with an error (4xx or 5xx), by reason")
                    .tag("reason", r)
                    .register(registry))
        .increment();
  }

  void producerFailed() {
    producerErrors.increment();
  }

  /**
   * One timer per status, built once: a builder and a registry lookup per request cost more than
   * the timing.
   */
  private Timer requestTimer(int status) {
    return requestTimers.computeIfAbsent(
        status, s -> HttpRequestMetrics.timer(registry, ROUTE, String.valueOf(s)));
  }
}
