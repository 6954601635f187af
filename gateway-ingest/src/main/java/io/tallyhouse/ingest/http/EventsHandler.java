package io.tallyhouse.ingest.http;

import com.fasterxml.jackson.databind.JsonNode;
import io.micrometer.core.instrument.Timer;
import io.tallyhouse.common.auth.Credential;
import io.tallyhouse.ingest.publish.EventPublisher;
import io.tallyhouse.ingest.validation.EventJson;
import io.tallyhouse.ingest.validation.EventValidator;
import io.tallyhouse.schemas.avro.UsageEvent;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.ext.web.RoutingContext;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * {@code POST /v1/events} once its headers passed: admits the body, decodes, checks and hands it to
 * the publisher (on the event loop or a worker thread), and answers when Kafka acknowledged every
 * event or refused one.
 */
final class EventsHandler implements Handler<RoutingContext> {

  /** Bodies up to this size are handled on the event loop; larger ones on a worker thread. */
  static final int INLINE_BODY_BYTES = 16 * 1024;

  private final Vertx vertx;
  private final int maxBodyBytes;
  private final Duration publishTimeout;
  private final Admission admission;
  private final EventValidator validator;
  private final IngestAuthorization authorization;
  private final EventPublisher publisher;
  private final Answers answers;
  private final IngestMetrics metrics;

  EventsHandler(
      Vertx vertx,
      EndpointSettings settings,
      Admission admission,
      EventValidator validator,
      IngestAuthorization authorization,
      EventPublisher publisher,
      Answers answers,
      IngestMetrics metrics) {
    this.vertx = vertx;
    this.maxBodyBytes = settings.maxBodyBytes();
    this.publishTimeout = settings.publishTimeout();
    this.admission = admission;
    this.validator = validator;
    this.authorization = authorization;
    this.publisher = publisher;
    this.answers = answers;
    this.metrics = metrics;
  }

  @Override
  public void handle(RoutingContext ctx) {
    Timer.Sample sample = metrics.requestStarted();
    Credential credential = ctx.get(HeaderCheck.CREDENTIAL);
    byte[] body = ctx.body().buffer() == null ? new byte[0] : ctx.body().buffer().getBytes();
    if (admission.draining()) {
      answers.shuttingDown(ctx);
      metrics.requestAnswered(sample, 503);
      return;
    }
    Admission.Reservation reservation = admission.admit(body.length);
    if (reservation == null) {
      answers.refused(ctx, RequestRefused.overloaded());
      metrics.requestAnswered(sample, 503);
      return;
    }
    boolean gzip = GzipBody.isGzip(ctx.request().getHeader("Content-Encoding"));
    Callable<CompletableFuture<Integer>> work =
        () -> {
          // The decoded bytes count against the in-flight limit as they are inflated.
          byte[] json = gzip ? GzipBody.decode(body, maxBodyBytes, reservation::take) : body;
          return publisher.publish(check(json, credential));
        };
    // publish() never blocks: the producer's waits for metadata or buffer space happen on its
    // sender thread. A
    // small body is cheaper to handle here than to hand to a worker thread; a compressed one may
    // inflate to
    // megabytes, so it always goes to a worker.
    Future<CompletableFuture<Integer>> sent;
    if (!gzip && body.length <= INLINE_BODY_BYTES) {
      try {
        sent = Future.succeededFuture(work.call());
      } catch (Exception e) {
        sent = Future.failedFuture(e);
      }
    } else {
      sent = vertx.executeBlocking(work, false);
    }
    sent
        // The producer answers every record: a queued send within the publish timeout (else it
        // fails unsent), then
        // its delivery within the publish timeout again. The margin only guards against a bug.
        .compose(
            acknowledged ->
                Future.fromCompletionStage(
                    acknowledged.orTimeout(
                        2 * publishTimeout.toMillis() + 5000, TimeUnit.MILLISECONDS),
                    ctx.vertx().getOrCreateContext()))
        .onComplete(
            result -> {
              try {
                if (result.succeeded()) {
                  answers.accepted(ctx, result.result());
                } else if (result.cause() instanceof RequestRefused refused) {
                  answers.refused(ctx, refused);
                } else {
                  answers.kafkaFailed(ctx, result.cause());
                }
              } finally {
                reservation.release();
                metrics.requestAnswered(sample, ctx.response().getStatusCode());
              }
            });
  }

  /**
   * The request's events when the body is valid JSON, every event valid and every account allowed.
   */
  private List<UsageEvent> check(byte[] json, Credential credential) throws RequestRefused {
    JsonNode tree;
    try {
      tree = EventJson.read(json);
    } catch (EventJson.MalformedJsonException e) {
      throw new RequestRefused("malformed_json", 400, e.getMessage());
    }
    EventValidator.Outcome outcome = validator.validate(tree);
    if (!outcome.valid()) {
      throw new RequestRefused(
          "invalid",
          400,
          "Invalid events: " + outcome.errors().size() + " problem(s)",
          Map.of("errors", outcome.errors()));
    }
    authorization.requireAccounts(credential, outcome.events());
    return outcome.events();
  }
}
