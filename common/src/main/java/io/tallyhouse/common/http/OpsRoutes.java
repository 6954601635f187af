package io.tallyhouse.common.http;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import java.util.Optional;
import java.util.function.BooleanSupplier;

/** Health and metrics routes every service exposes (CONTRACT.md section 2). */
public final class OpsRoutes {

  private OpsRoutes() {}

  /**
   * Mounts {@code /health/live} (503 with the reason when {@code live} reports a problem only a
   * restart cures), {@code /health/ready} (its dependencies answer, as {@code ready} says) and
   * {@code /metrics} (Prometheus text).
   */
  public static void mount(
      Router router, PrometheusMeterRegistry metrics, BooleanSupplier ready, Liveness live) {
    // Answered on the event loop: the check only reads fields, and a worker pool that is busy must
    // not fail it.
    router
        .get("/health/live")
        .handler(
            ctx -> {
              Optional<String> problem = live.problem();
              ctx.response()
                  .setStatusCode(problem.isEmpty() ? 200 : 503)
                  .putHeader("Content-Type", "application/json")
                  .end(
                      problem.isEmpty()
                          ? "{\"status\":\"UP\"}"
                          : new JsonObject()
                              .put("status", "DOWN")
                              .put("reason", problem.get())
                              .encode());
            });
    router
        .get("/health/ready")
        .blockingHandler(
            ctx -> {
              boolean up = ready.getAsBoolean();
              ctx.response()
                  .setStatusCode(up ? 200 : 503)
                  .putHeader("Content-Type", "application/json")
                  .end(up ? "{\"status\":\"UP\"}" : "{\"status\":\"DOWN\"}");
            },
            false);
    router
        .get("/metrics")
        .handler(
            ctx ->
                ctx.response()
                    .putHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                    .end(metrics.scrape()));
  }
}
