package io.tallyhouse.ingest;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Locale;
import java.util.function.LongPredicate;
import java.util.zip.GZIPInputStream;

/**
 * Decodes a gzip request body with a hard limit on the decoded size: a gzip bomb costs at most that many bytes of
 * inflation, never its full size. The compressed body itself is already bounded by the same limit.
 */
final class GzipBody {

  /** The decoded bytes, or the status, metric reason and message that refuse the body. */
  record Decoded(byte[] bytes, int status, String reason, String refusal) {}

  private GzipBody() {}

  static boolean isGzip(String contentEncoding) {
    if (contentEncoding == null) {
      return false;
    }
    String e = contentEncoding.trim().toLowerCase(Locale.ROOT);
    return e.equals("gzip") || e.equals("x-gzip");
  }

  static boolean isSupported(String contentEncoding) {
    return isGzip(contentEncoding) || contentEncoding.trim().equalsIgnoreCase("identity");
  }

  static Decoded decode(byte[] compressed, int maxDecodedBytes) {
    return decode(compressed, maxDecodedBytes, bytes -> true);
  }

  /**
   * As {@link #decode(byte[], int)}, asking {@code admit} for every chunk of decoded bytes before keeping it; a
   * refusal stops the inflation and answers 503 (the service holds too much data already).
   */
  static Decoded decode(byte[] compressed, int maxDecodedBytes, LongPredicate admit) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(Math.min(maxDecodedBytes, compressed.length * 8 + 64));
    byte[] buffer = new byte[16 * 1024];
    try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(compressed), buffer.length)) {
      int n;
      while ((n = in.read(buffer)) > 0) {
        if (out.size() + n > maxDecodedBytes) {
          return new Decoded(null, 413, "too_large", "The body exceeds " + maxDecodedBytes + " bytes (after decoding)");
        }
        if (!admit.test(n)) {
          return new Decoded(null, 503, "overloaded", "Too much data in flight; retry the request");
        }
        out.write(buffer, 0, n);
      }
    } catch (IOException e) {
      return new Decoded(null, 400, "malformed_gzip", "Malformed gzip body: not valid gzip data");
    }
    return new Decoded(out.toByteArray(), 200, null, null);
  }
}
