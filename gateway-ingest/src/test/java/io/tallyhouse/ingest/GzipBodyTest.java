package io.tallyhouse.ingest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;

/** Decoding stops at the limit, corrupt input is a 400, only gzip and identity are accepted. */
class GzipBodyTest {

  private static byte[] gzip(byte[] plain) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (GZIPOutputStream z = new GZIPOutputStream(out)) {
      z.write(plain);
    }
    return out.toByteArray();
  }

  @Test
  void decodesWithinTheLimit() throws Exception {
    byte[] plain = "[{\"event_id\":\"x\"}]".getBytes(StandardCharsets.UTF_8);
    GzipBody.Decoded decoded = GzipBody.decode(gzip(plain), plain.length);
    assertArrayEquals(plain, decoded.bytes());
  }

  @Test
  void oneByteOverTheLimitIs413() throws Exception {
    GzipBody.Decoded decoded = GzipBody.decode(gzip(new byte[1001]), 1000);
    assertEquals(413, decoded.status());
    assertEquals(null, decoded.bytes());
  }

  @Test
  void corruptGzipIs400() {
    GzipBody.Decoded decoded = GzipBody.decode(new byte[] {0x1f, (byte) 0x8b, 8, 0, 1, 2, 3}, 1000);
    assertEquals(400, decoded.status());
    assertTrue(decoded.refusal().startsWith("Malformed gzip body"));
  }

  @Test
  void encodings() {
    assertTrue(GzipBody.isGzip("GZIP") && GzipBody.isGzip(" x-gzip "));
    assertTrue(GzipBody.isSupported("identity"));
    assertFalse(GzipBody.isSupported("br") || GzipBody.isSupported("deflate"));
  }
}
