package io.tallyhouse.query.http;

import io.micrometer.core.instrument.MeterRegistry;
import io.tallyhouse.query.auth.ReportedFilters;
import io.tallyhouse.query.export.CsvExport;
import io.tallyhouse.query.export.ExportPages;
import io.tallyhouse.query.export.ExportRequest;
import io.tallyhouse.query.export.ExportSlots;
import io.vertx.core.WorkerExecutor;
import io.vertx.ext.web.RoutingContext;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * {@code GET /api/v1/activity/export}: the checks, an export slot and the first page on the export
 * workers; a CSV export then goes on by events on the request's event loop ({@link CsvExport}).
 */
final class ExportHandler {

  /**
   * Threads that run exports (their checks and keyset pages), apart from the default worker pool,
   * which is left to activity answers, key checks and readiness. So at most this many export
   * statements run at once, holding at most as many of the ClickHouse client's 10 connections; a
   * CSV export waiting for its client holds none of them.
   */
  static final int EXPORT_WORKERS = 4;

  private final RequestCheck check;
  private final ReportedFilters reported;
  private final ExportPages pages;
  private final ExportSlots slots;
  private final WorkerExecutor workers;
  private final Duration stallTimeout;
  private final MeterRegistry metrics;

  ExportHandler(
      RequestCheck check,
      ReportedFilters reported,
      ExportPages pages,
      ExportSlots slots,
      WorkerExecutor workers,
      Duration stallTimeout,
      MeterRegistry metrics) {
    this.check = check;
    this.reported = reported;
    this.pages = pages;
    this.slots = slots;
    this.workers = workers;
    this.stallTimeout = stallTimeout;
    this.metrics = metrics;
  }

  void handle(RoutingContext ctx) {
    RequestTimer timer = RequestTimer.start(ctx, metrics, ActivityRouter.EXPORT_ROUTE);
    String authorization = ctx.request().getHeader("Authorization");
    Map<String, List<String>> params = QueryString.parseOrNull(ctx.request().query());
    workers
        .executeBlocking(() -> export(authorization, params), false)
        .onComplete(
            result -> {
              Exported exported = result.succeeded() ? result.result() : null;
              if (exported != null && exported.csv() != null) {
                CsvStart csv = exported.csv();
                new CsvExport(
                        ctx.vertx(),
                        ctx.response(),
                        next ->
                            workers.executeBlocking(
                                () -> pages.csvPage(csv.account(), next, false), false),
                        csv.slot(),
                        stallTimeout,
                        () -> timer.stop(RequestTimer.ABORTED))
                    .start(csv.first());
                return;
              }
              Reply.send(ctx, exported == null ? null : exported.reply(), result.cause());
            });
  }

  /** An export's reply (a JSON page or a refusal), or the start of its CSV stream. */
  private record Exported(Reply reply, CsvStart csv) {}

  /** A CSV export that holds its slot and has read its first page. */
  private record CsvStart(String account, ExportSlots.Slot slot, CsvExport.Page first) {}

  /**
   * Checks the request, takes an export slot (429 when the account or the service is at its limit),
   * then reads the JSON page, or the first CSV page: read before the status line, so a ClickHouse
   * failure up front is a clean 500.
   */
  private Exported export(String authorization, Map<String, List<String>> params) throws Exception {
    RequestCheck.Checked<ExportRequest> checked =
        check.check(authorization, params, ExportRequest::parse, reported::known);
    if (checked.refusal() != null) {
      return new Exported(checked.refusal(), null);
    }
    String account = checked.account();
    ExportRequest request = checked.request();
    ExportSlots.Slot slot = slots.tryAcquire(account);
    if (slot == null) {
      return new Exported(Reply.error(429, slots.refusal()), null);
    }
    if (request.format() == ExportRequest.Format.CSV) {
      try {
        return new Exported(
            null, new CsvStart(account, slot, pages.csvPage(account, request, true)));
      } catch (RuntimeException e) {
        slot.release();
        throw e;
      }
    }
    try {
      return new Exported(Reply.ok(pages.jsonPage(account, request)), null);
    } finally {
      slot.release(); // a page is at most MAX_LIMIT rows, written without waiting for the client
    }
  }
}
