package io.tallyhouse.common.http;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.ext.web.Router;
import java.util.function.BooleanSupplier;

/** Health and metrics routes every service exposes (CONTRACT.md section 2). */
public final class OpsRoutes {

  private OpsRoutes() {}

  /**
   * Mounts {@code /health/live} (the process answers), {@code /health/ready} (its dependencies answer,
   * as {@code ready} says) and {@code /metrics} (Prometheus text).
   */
  public static void mount(Router router, PrometheusMeterRegistry metrics, BooleanSupplier ready) {
    router.get("/health/live").handler(ctx -> ctx.response()
        .putHeader("Content-Type", "application/json")
        .end("{\"status\":\"UP\"}"));
    router.get("/health/ready").blockingHandler(ctx -> {
      boolean up = ready.getAsBoolean();
      ctx.response()
          .setStatusCode(up ? 200 : 503)
          .putHeader("Content-Type", "application/json")
          .end(up ? "{\"status\":\"UP\"}" : "{\"status\":\"DOWN\"}");
    }, false);
    router.get("/metrics").handler(ctx -> ctx.response()
        .putHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        .end(metrics.scrape()));
  }
}
