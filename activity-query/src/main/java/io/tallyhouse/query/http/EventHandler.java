package io.tallyhouse.query.http;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.micrometer.core.instrument.MeterRegistry;
import io.tallyhouse.query.auth.ReportedFilters;
import io.tallyhouse.query.event.EventRepository;
import io.tallyhouse.query.event.EventRequest;
import io.tallyhouse.query.event.StoredEvent;
import io.vertx.ext.web.RoutingContext;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.util.Map;

/**
 * {@code GET /api/v1/events/{event_id}} (OpenRouter's {@code GET /api/v1/generation?id=}): one
 * stored event of the caller's account, on a worker thread, with the activity route's checks in the
 * contract's order (key 401/403, then the id 400, then 404).
 */
final class EventHandler {

  private static final JsonFactory JSON = new JsonFactory();

  /**
   * The answer to an id the caller's account has no event of: the same whether no account has it,
   * another account has it, or raw retention dropped it, so an answer never tells which ids other
   * accounts use.
   */
  static final String NOT_FOUND = "No such event for this account";

  /** An event request has no filter to look up (a call would be a bug, not a 404). */
  private static final ReportedFilters.Lookup NO_FILTERS =
      (filter, account, value) -> {
        throw new IllegalStateException("an event request has no filters, yet " + filter);
      };

  private final RequestCheck check;
  private final EventRepository events;
  private final MeterRegistry metrics;

  EventHandler(RequestCheck check, EventRepository events, MeterRegistry metrics) {
    this.check = check;
    this.events = events;
    this.metrics = metrics;
  }

  void handle(RoutingContext ctx) {
    RequestTimer.start(ctx, metrics, ActivityRouter.EVENT_ROUTE_TEMPLATE);
    String authorization = ctx.request().getHeader("Authorization");
    // Percent-decoded by the router (a %2F is a slash inside the id, a + stays a +).
    String eventId = ctx.pathParam(EventRequest.EVENT_ID);
    ctx.vertx()
        .executeBlocking(() -> answer(authorization, eventId), false)
        .onComplete(
            result -> Reply.send(ctx, result.succeeded() ? result.result() : null, result.cause()));
  }

  private Reply answer(String authorization, String eventId) {
    RequestCheck.Checked<EventRequest> checked =
        check.check(
            authorization,
            Map.of(), // the route has no query parameters; others are ignored, as on every route
            (params, today) -> EventRequest.parse(eventId),
            NO_FILTERS);
    if (checked.refusal() != null) {
      return checked.refusal();
    }
    return events
        .find(checked.account(), checked.request().eventId())
        .map(EventHandler::answerJson)
        .map(Reply::ok)
        .orElseGet(() -> Reply.error(404, NOT_FOUND));
  }

  private static String answerJson(StoredEvent event) {
    StringWriter out = new StringWriter(1024);
    try (JsonGenerator json = JSON.createGenerator(out)) {
      json.writeStartObject();
      json.writeFieldName("data");
      event.writeTo(json);
      json.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException("writing to a string cannot fail", e);
    }
    return out.toString();
  }
}
