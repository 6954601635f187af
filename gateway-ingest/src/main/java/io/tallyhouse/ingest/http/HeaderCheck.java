package io.tallyhouse.ingest.http;

import io.tallyhouse.common.auth.Credential;
import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;

/**
 * Refuses a post before its body is read: no ingest token, not JSON, an encoding other than gzip or
 * identity.
 */
final class HeaderCheck implements Handler<RoutingContext> {

  /** Where the authenticated credential waits for the events handler. */
  static final String CREDENTIAL = "credential";

  private final IngestAuthorization authorization;
  private final Answers answers;

  HeaderCheck(IngestAuthorization authorization, Answers answers) {
    this.authorization = authorization;
    this.answers = answers;
  }

  @Override
  public void handle(RoutingContext ctx) {
    try {
      Credential credential = authorization.authenticate(ctx.request().getHeader("Authorization"));
      String contentType = ctx.request().getHeader("Content-Type");
      String mediaType = contentType == null ? "" : contentType.split(";", 2)[0].trim();
      if (!mediaType.equalsIgnoreCase("application/json")) {
        throw new RequestRefused(
            "unsupported_media_type", 415, "Content-Type must be application/json");
      }
      String encoding = ctx.request().getHeader("Content-Encoding");
      if (encoding != null && !GzipBody.isSupported(encoding)) {
        throw new RequestRefused(
            "unsupported_media_type", 415, "Content-Encoding must be gzip or identity");
      }
      ctx.put(CREDENTIAL, credential);
      ctx.next();
    } catch (RequestRefused refused) {
      answers.refused(ctx, refused);
    }
  }
}
