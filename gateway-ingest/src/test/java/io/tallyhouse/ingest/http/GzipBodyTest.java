package io.tallyhouse.ingest.http;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
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
    assertArrayEquals(plain, GzipBody.decode(gzip(plain), plain.length, bytes -> true));
  }

  @Test
  void oneByteOverTheLimitIs413() throws Exception {
    byte[] zipped = gzip(new byte[1001]);
    RequestRefused refused =
        assertThrows(RequestRefused.class, () -> GzipBody.decode(zipped, 1000, bytes -> true));
    assertEquals(413, refused.status());
  }

  @Test
  void corruptGzipIs400() {
    RequestRefused refused =
        assertThrows(
            RequestRefused.class,
            () ->
                GzipBody.decode(
                    new byte[] {0x1f, (byte) 0x8b, 8, 0, 1, 2, 3}, 1000, bytes -> true));
    assertEquals(400, refused.status());
    assertTrue(refused.getMessage().startsWith("Malformed gzip body"));
  }

  @Test
  void inflationStopsWith503AtTheFirstChunkTheAdmissionRefuses() throws Exception {
    byte[] zipped = gzip(new byte[100_000]);
    List<Long> asked = new ArrayList<>();
    RequestRefused refused =
        assertThrows(
            RequestRefused.class,
            () ->
                GzipBody.decode(
                    zipped,
                    1_000_000,
                    bytes -> {
                      asked.add(bytes);
                      return asked.size() < 3;
                    }));
    assertEquals(503, refused.status());
    assertEquals(3, asked.size(), "no chunk is inflated after the refusal");
  }

  @Test
  void encodings() {
    assertTrue(GzipBody.isGzip("GZIP") && GzipBody.isGzip(" x-gzip "));
    assertTrue(GzipBody.isSupported("identity"));
    assertFalse(GzipBody.isSupported("br") || GzipBody.isSupported("deflate"));
  }
}
