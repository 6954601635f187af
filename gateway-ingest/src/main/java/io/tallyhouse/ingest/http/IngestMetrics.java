package io.tallyhouse.ingest.http;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The meters of the events endpoint (the README's {@code /metrics} list): events accepted, requests
 * refused by reason, producer errors, request time by status and the bytes in flight.
 */
final class IngestMetrics {

  private final PrometheusMeterRegistry registry;
  private final Counter accepted;
  private final Map<Integer, Timer> requestTimers = new ConcurrentHashMap<>();

  IngestMetrics(PrometheusMeterRegistry registry, Admission admission) {
    this.registry = registry;
    this.accepted =
        Counter.builder("ingest_events_accepted")
            .description("events acknowledged with 202")
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
    registry.counter("ingest_requests_rejected", "reason", reason).increment();
  }

  void producerFailed() {
    registry.counter("ingest_producer_errors").increment();
  }

  /**
   * One timer per status, built once: a builder and a registry lookup per request cost more than
   * the timing.
   */
  private Timer requestTimer(int status) {
    return requestTimers.computeIfAbsent(
        status,
        s ->
            Timer.builder("ingest_request")
                .tag("status", String.valueOf(s))
                .publishPercentileHistogram()
                .register(registry));
  }
}
