package io.tallyhouse.query.http;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.tallyhouse.common.http.ErrorEnvelope;
import io.tallyhouse.common.http.EventLoopWatchdog;
import io.tallyhouse.common.http.HttpServers;
import io.tallyhouse.common.http.OpsRoutes;
import io.tallyhouse.query.auth.ManagementKeys;
import io.tallyhouse.query.auth.ReportedFilters;
import io.tallyhouse.query.cache.CompletedDayCache;
import io.tallyhouse.query.event.EventRepository;
import io.tallyhouse.query.event.EventRequest;
import io.tallyhouse.query.export.ExportPages;
import io.tallyhouse.query.export.ExportSlots;
import io.vertx.core.Vertx;
import io.vertx.ext.web.Router;
import java.time.Clock;
import java.time.Duration;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The routes of activity-query: {@value #ROUTE}, {@value #EXPORT_ROUTE}, {@value
 * #EVENT_ROUTE_TEMPLATE}, {@code /openapi.yaml}, the ops routes, and every unmatched or failed
 * request mapped to the error envelope.
 */
public final class ActivityRouter {

  private static final Logger LOG = LoggerFactory.getLogger(ActivityRouter.class);

  public static final String ROUTE = "/api/v1/activity";
  public static final String EXPORT_ROUTE = "/api/v1/activity/export";

  /**
   * The single-event route as the OpenAPI document and the {@code route} tag of {@code
   * http_server_requests} name it: the template, never the id (one series per route, not per
   * event).
   */
  public static final String EVENT_ROUTE_TEMPLATE = "/api/v1/events/{event_id}";

  private static final String EVENT_ROUTE = "/api/v1/events/:" + EventRequest.EVENT_ID;

  /** The OpenAPI document, served as it is. */
  public static final String OPENAPI_RESOURCE = "/activity-openapi.yaml";

  /**
   * The {@code status} tag of {@code http_server_requests} for an export cut after its status line.
   */
  public static final String ABORTED = RequestTimer.ABORTED;

  private ActivityRouter() {}

  /**
   * What the activity route answers from: the cache (or ClickHouse behind it) and the most items of
   * an answer.
   */
  public record Activity(CompletedDayCache cache, int maxItems) {}

  /**
   * What the export route needs: its pages, its slots, and how long a CSV client may take nothing.
   */
  public record Exports(ExportPages pages, ExportSlots slots, Duration stallTimeout) {}

  /**
   * @param clock decides which UTC days are completed
   * @param ready whether the service can answer ({@code /health/ready})
   */
  public static Router create(
      Vertx vertx,
      ManagementKeys keys,
      ReportedFilters reported,
      Activity activity,
      Exports exports,
      EventRepository events,
      Clock clock,
      PrometheusMeterRegistry metrics,
      BooleanSupplier ready) {
    RequestCheck check = new RequestCheck(keys, clock);
    ActivityHandler activityHandler =
        new ActivityHandler(keys, check, activity.cache(), reported, metrics, activity.maxItems());
    ExportHandler exportHandler =
        new ExportHandler(
            check,
            reported,
            exports.pages(),
            exports.slots(),
            vertx.createSharedWorkerExecutor("activity-export", ExportHandler.EXPORT_WORKERS),
            exports.stallTimeout(),
            metrics);
    Router router = Router.router(vertx);
    router.get(ROUTE).handler(activityHandler::handle);
    router.get(EXPORT_ROUTE).handler(exportHandler::handle);
    router.get(EVENT_ROUTE).handler(new EventHandler(check, events, metrics)::handle);
    HttpServers.mountOpenApi(router, ActivityRouter.class, OPENAPI_RESOURCE);
    OpsRoutes.mount(router, metrics, ready, EventLoopWatchdog.start(vertx));
    // The router's own 400: a path it cannot percent-decode (an event id with a bare %), answered
    // before any route (so before the key check) since no route can be matched to it.
    router.errorHandler(
        400, ctx -> ErrorEnvelope.send(ctx, 400, "Malformed percent-escape in the path", null));
    router.errorHandler(404, ctx -> ErrorEnvelope.send(ctx, 404, "Not found", null));
    router.errorHandler(405, ctx -> ErrorEnvelope.send(ctx, 405, "Method not allowed", null));
    router.errorHandler(
        500,
        ctx -> {
          LOG.error("unhandled failure on {}", ctx.request().path(), ctx.failure());
          ErrorEnvelope.send(ctx, 500, "Internal server error", null);
        });
    return router;
  }
}
