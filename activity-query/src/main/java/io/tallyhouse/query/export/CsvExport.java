package io.tallyhouse.query.export;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerResponse;
import java.time.Duration;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One CSV export being written, driven by events on its request's event loop: a keyset page is read
 * and formatted on an export worker, then written in slices; while the client's write queue is full
 * the export waits for its drain handler, holding its slot and at most one page of bytes but no
 * thread. A client that takes nothing for the stall timeout, or goes away, ends the export and
 * frees its slot. Every method runs on the request's event loop.
 */
public final class CsvExport {

  private static final Logger LOG = LoggerFactory.getLogger(CsvExport.class);

  /**
   * Bytes handed to the response at once, so a stalled client is noticed within a slice, not a
   * page.
   */
  private static final int SLICE = 64 * 1024;

  /**
   * The CSV text of one keyset page (with the header line on the first) and the request of the next
   * page, if any.
   */
  public record Page(Buffer bytes, ExportRequest next) {}

  private final Vertx vertx;
  private final HttpServerResponse response;
  private final Function<ExportRequest, Future<Page>> readPage;
  private final ExportSlots.Slot slot;
  private final long stallMillis;

  /** Called once when the export is cut after its status line (the metric's {@code aborted}). */
  private final Runnable aborted;

  private Buffer pending;
  private int offset;
  private ExportRequest next;
  private long stallTimer = -1;
  private boolean ended;

  public CsvExport(
      Vertx vertx,
      HttpServerResponse response,
      Function<ExportRequest, Future<Page>> readPage,
      ExportSlots.Slot slot,
      Duration stallTimeout,
      Runnable aborted) {
    this.vertx = vertx;
    this.response = response;
    this.readPage = readPage;
    this.slot = slot;
    this.stallMillis = stallTimeout.toMillis();
    this.aborted = aborted;
  }

  /**
   * Sends the status line and the first page (read before, so a ClickHouse failure up front was a
   * clean 500).
   */
  public void start(Page first) {
    if (response.closed()) {
      slot.release();
      return;
    }
    response.closeHandler(v -> clientGone());
    response
        .setStatusCode(200)
        .setChunked(true)
        .putHeader("Content-Type", "text/csv; charset=utf-8")
        .putHeader("Content-Disposition", "attachment; filename=\"activity-export.csv\"")
        .putHeader("Cache-Control", "no-store");
    write(first);
  }

  private void write(Page page) {
    pending = page.bytes();
    offset = 0;
    next = page.next();
    pump();
  }

  /**
   * Writes slices until the page is out or the client's queue is full; then reads the next page or
   * ends.
   */
  private void pump() {
    if (response.closed()) {
      return; // clientGone freed the slot
    }
    while (offset < pending.length()) {
      int end = Math.min(offset + SLICE, pending.length());
      response.write(pending.getBuffer(offset, end));
      offset = end;
      if (response.writeQueueFull()) {
        awaitDrain();
        return;
      }
    }
    pending = null;
    if (next == null) {
      ended = true;
      stallTimer = vertx.setTimer(stallMillis, id -> stalled());
      response
          .end()
          .onComplete(
              done -> {
                vertx.cancelTimer(stallTimer);
                slot.release();
              });
      return;
    }
    readPage
        .apply(next)
        .onComplete(
            read -> {
              if (read.succeeded()) {
                write(read.result());
              } else {
                fail(read.cause());
              }
            });
  }

  private void awaitDrain() {
    stallTimer = vertx.setTimer(stallMillis, id -> stalled());
    response.drainHandler(
        v -> {
          response.drainHandler(null);
          vertx.cancelTimer(stallTimer);
          pump();
        });
  }

  /**
   * The client took nothing for the stall timeout: the connection is reset without the last chunk,
   * so even a client that reads again later sees a cut transfer, never a short complete file.
   */
  private void stalled() {
    if (response.closed()) {
      return;
    }
    LOG.warn(
        "CSV export stalled: its client took no data for {} ms; connection reset", stallMillis);
    cut();
  }

  /**
   * Reading a page failed after rows were sent: the same cut, so the client never takes the file
   * for complete.
   */
  private void fail(Throwable cause) {
    if (response.closed()) {
      return;
    }
    LOG.error(
        "export stream failed after it started; connection reset so the client sees a cut transfer",
        cause);
    cut();
  }

  private void cut() {
    // A reset response never reaches the end handler, so it is counted here, not as the 200 its
    // status line said.
    aborted.run();
    slot.release();
    response.reset();
  }

  private void clientGone() {
    vertx.cancelTimer(stallTimer);
    if (!ended) {
      aborted.run();
    }
    slot.release();
  }
}
