package io.tallyhouse.common.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vertx.ext.web.RoutingContext;

/**
 * The one error shape of both services (CONTRACT.md section 2): {@code
 * {"error":{"code":<int>,"message":"<text>","metadata":{...}}}}, metadata absent when null.
 */
public final class ErrorEnvelope {

  private static final ObjectMapper JSON = new ObjectMapper();

  private ErrorEnvelope() {}

  public static String json(int code, String message, Object metadata) {
    ObjectNode error = JSON.createObjectNode();
    error.put("code", code);
    error.put("message", message);
    if (metadata != null) {
      error.set("metadata", JSON.valueToTree(metadata));
    }
    ObjectNode root = JSON.createObjectNode();
    root.set("error", error);
    try {
      return JSON.writeValueAsString(root);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("error envelope cannot be serialised", e);
    }
  }

  /** Ends the request with the envelope; a no-op when a response was already sent. */
  public static void send(RoutingContext ctx, int code, String message, Object metadata) {
    if (ctx.response().ended() || ctx.response().headWritten()) {
      return;
    }
    ctx.response()
        .setStatusCode(code)
        .putHeader("Content-Type", "application/json")
        .end(json(code, message, metadata));
  }
}
