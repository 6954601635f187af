package io.tallyhouse.ingest.http;

/**
 * Why a request is refused before anything of it is published: the metric reason, the status, the
 * client's message and the error envelope's metadata (null when none).
 */
final class RequestRefused extends Exception {

  private final String reason;
  private final int status;
  private final transient Object metadata;

  RequestRefused(String reason, int status, String message, Object metadata) {
    // An answer, not a fault: a stack trace would cost more than the refusal and tell nobody
    // anything.
    super(message, null, false, false);
    this.reason = reason;
    this.status = status;
    this.metadata = metadata;
  }

  RequestRefused(String reason, int status, String message) {
    this(reason, status, message, null);
  }

  /** Too much data in flight: refused at once instead of queueing behind a slow Kafka. */
  static RequestRefused overloaded() {
    return new RequestRefused("overloaded", 503, "Too much data in flight; retry the request");
  }

  /** A body larger than {@code maxBodyBytes} after decoding. */
  static RequestRefused tooLarge(long maxBodyBytes) {
    return new RequestRefused(
        "too_large", 413, "The body exceeds " + maxBodyBytes + " bytes (after decoding)");
  }

  String reason() {
    return reason;
  }

  int status() {
    return status;
  }

  Object metadata() {
    return metadata;
  }
}
