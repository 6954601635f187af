package io.tallyhouse.query.http;

import io.tallyhouse.common.http.ErrorEnvelope;
import io.tallyhouse.query.export.ExportSlots;
import io.tallyhouse.query.json.JsonBytes;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.RoutingContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A status with either the JSON body (200), as text or as the bytes of an activity answer, or the
 * error message (anything else); {@link #send} puts it on the wire, every refusal in the error
 * envelope and any failure as a 500 that never reveals its cause.
 */
record Reply(int status, String body, JsonBytes json) {

  private static final Logger LOG = LoggerFactory.getLogger(Reply.class);

  static Reply error(int status, String message) {
    return new Reply(status, message, null);
  }

  static Reply ok(String json) {
    return new Reply(200, json, null);
  }

  static Reply json(JsonBytes json) {
    return new Reply(200, null, json);
  }

  /** Sends {@code reply}, or a 500 when it is null ({@code failure} is then only logged). */
  static void send(RoutingContext ctx, Reply reply, Throwable failure) {
    if (ctx.response().closed()) {
      return;
    }
    if (reply == null) {
      LOG.error("activity request failed", failure);
      ErrorEnvelope.send(ctx, 500, "Internal server error", null);
      return;
    }
    // One account's usage: no shared cache may keep it.
    ctx.response().putHeader("Cache-Control", "no-store");
    if (reply.json() != null) {
      JsonBytes json = reply.json();
      ctx.response()
          .setStatusCode(200)
          .putHeader("Content-Type", "application/json")
          .end(Buffer.buffer(json.length()).appendBytes(json.array(), 0, json.length()));
    } else if (reply.status() == 200) {
      ctx.response()
          .setStatusCode(200)
          .putHeader("Content-Type", "application/json")
          .end(reply.body());
    } else {
      if (reply.status() == 401) {
        ctx.response().putHeader("WWW-Authenticate", "Bearer");
      }
      if (reply.status() == 429) {
        ctx.response().putHeader("Retry-After", Integer.toString(ExportSlots.RETRY_AFTER_SECONDS));
      }
      ErrorEnvelope.send(ctx, reply.status(), reply.body(), null);
    }
  }
}
