package io.tallyhouse.ingest.http;

import io.tallyhouse.common.http.ErrorEnvelope;
import io.vertx.ext.web.RoutingContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the client is told, in one place: 202 with the count, or the error envelope with its status,
 * Retry-After on every 503 (retrying is safe: nothing was acknowledged), and each answer counted by
 * reason.
 */
final class Answers {

  private static final Logger LOG = LoggerFactory.getLogger(Answers.class);

  private final IngestMetrics metrics;
  private final int maxBodyBytes;

  Answers(IngestMetrics metrics, int maxBodyBytes) {
    this.metrics = metrics;
    this.maxBodyBytes = maxBodyBytes;
  }

  /** Every event of the request is acknowledged by Kafka. */
  void accepted(RoutingContext ctx, int events) {
    metrics.accepted(events);
    ctx.response()
        .setStatusCode(202)
        .putHeader("Content-Type", "application/json")
        .end("{\"accepted\":" + events + "}");
  }

  void refused(RoutingContext ctx, RequestRefused refused) {
    if (refused.status() == 503) {
      ctx.response().putHeader("Retry-After", "1");
    }
    metrics.refused(refused.reason());
    ErrorEnvelope.send(ctx, refused.status(), refused.getMessage(), refused.metadata());
  }

  /** The service drains for shutdown: the client retries elsewhere, on a new connection. */
  void shuttingDown(RoutingContext ctx) {
    ctx.response().putHeader("Connection", "close");
    refused(
        ctx,
        new RequestRefused(
            "shutting_down", 503, "The service is shutting down; retry the request"));
  }

  /**
   * Kafka did not take or acknowledge every record in time; the producer gave up on all it did not
   * acknowledge.
   */
  void kafkaFailed(RoutingContext ctx, Throwable cause) {
    LOG.warn("publishing to Kafka failed: {}", cause.toString());
    metrics.producerFailed();
    refused(
        ctx,
        new RequestRefused(
            "kafka_unavailable",
            503,
            "Kafka could not take the events in time; nothing was"
                + " acknowledged, retry the request"));
  }

  /** The router's failure handler: the body limit, or a fault that must not reveal anything. */
  void failure(RoutingContext ctx) {
    int code = ctx.statusCode() > 0 ? ctx.statusCode() : 500;
    if (code == 413) {
      refused(ctx, RequestRefused.tooLarge(maxBodyBytes));
    } else if (code >= 500) {
      LOG.error("request failed", ctx.failure());
      refused(ctx, new RequestRefused("internal", 500, "Internal error"));
    } else {
      refused(ctx, new RequestRefused("bad_request", code, "Bad request"));
    }
  }
}
