package io.tallyhouse.ingest.http;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Locale;
import java.util.function.LongPredicate;
import java.util.zip.GZIPInputStream;

/**
 * Decodes a gzip request body with a hard limit on the decoded size: a gzip bomb costs at most that
 * many bytes of inflation, never its full size. The compressed body itself is already bounded by
 * the same limit.
 */
final class GzipBody {

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

  /**
   * The decoded bytes, asking {@code admit} for every chunk of them before keeping it. Refused: 413
   * past {@code maxDecodedBytes}, 503 when {@code admit} says no (the service holds too much data
   * already, so the inflation stops there), 400 for data that is not gzip.
   */
  static byte[] decode(byte[] compressed, int maxDecodedBytes, LongPredicate admit)
      throws RequestRefused {
    ByteArrayOutputStream out =
        new ByteArrayOutputStream(Math.min(maxDecodedBytes, compressed.length * 8 + 64));
    byte[] buffer = new byte[16 * 1024];
    try (GZIPInputStream in =
        new GZIPInputStream(new ByteArrayInputStream(compressed), buffer.length)) {
      int n;
      while ((n = in.read(buffer)) > 0) {
        if (out.size() + n > maxDecodedBytes) {
          throw RequestRefused.tooLarge(maxDecodedBytes);
        }
        if (!admit.test(n)) {
          throw RequestRefused.overloaded();
        }
        out.write(buffer, 0, n);
      }
    } catch (IOException e) {
      throw new RequestRefused("malformed_gzip", 400, "Malformed gzip body: not valid gzip data");
    }
    return out.toByteArray();
  }
}
