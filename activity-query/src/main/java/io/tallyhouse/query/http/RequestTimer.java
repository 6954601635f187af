package io.tallyhouse.query.http;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.tallyhouse.common.http.HttpRequestMetrics;
import io.vertx.ext.web.RoutingContext;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The {@code http_server_requests} timer ({@link HttpRequestMetrics}) of one request, stopped once
 * (by whichever comes first) with its status.
 */
final class RequestTimer {

  /**
   * The {@code status} tag of an export whose CSV stream was cut after rows were sent (the
   * connection is reset).
   */
  static final String ABORTED = "aborted";

  private final MeterRegistry metrics;
  private final String route;
  private final Timer.Sample sample;
  private final AtomicBoolean stopped = new AtomicBoolean();

  private RequestTimer(MeterRegistry metrics, String route) {
    this.metrics = metrics;
    this.route = route;
    this.sample = Timer.start(metrics);
  }

  /**
   * Starts the timer of {@code ctx}; it stops when the response ends, tagged with the status sent,
   * or {@value #ABORTED} when the connection failed before the service ended the response (a client
   * gone in the middle of a CSV export). A connection that closes after the response was ended is
   * no abort: a client's cleartext HTTP/2 upgrade (Java's HttpClient asks for one by default)
   * closes the HTTP/1.1 connection it came on once the answer went out on the new one.
   */
  static RequestTimer start(RoutingContext ctx, MeterRegistry metrics, String route) {
    RequestTimer timer = new RequestTimer(metrics, route);
    ctx.addEndHandler(
        done ->
            timer.stop(
                done.failed() && !ctx.response().ended()
                    ? ABORTED
                    : Integer.toString(ctx.response().getStatusCode())));
    return timer;
  }

  void stop(String status) {
    if (stopped.compareAndSet(false, true)) {
      sample.stop(HttpRequestMetrics.timer(metrics, route, status));
    }
  }
}
