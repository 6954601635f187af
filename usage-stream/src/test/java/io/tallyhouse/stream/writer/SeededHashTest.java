package io.tallyhouse.stream.writer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The writer's seeded hash: what it depends on (the bytes and their length), and nothing else. */
class SeededHashTest {

  @Test
  void aRangeHashesTheSameWhereverItsBytesLie() {
    Random random = new Random(37);
    SeededHash hash = new SeededHash(41);
    for (int length = 0; length <= 40; length++) {
      byte[] bytes = new byte[length];
      random.nextBytes(bytes);
      byte[] other = {7, 7};
      int whole = hash.hash(bytes, 0, bytes.length, other, 0, 2);
      for (int offset = 0; offset <= 9; offset++) {
        // Bytes before and after the range that differ from each other: only the range counts.
        byte[] around = new byte[offset + length + offset];
        random.nextBytes(around);
        System.arraycopy(bytes, 0, around, offset, length);
        byte[] second = new byte[offset + 2];
        random.nextBytes(second);
        second[offset] = 7;
        second[offset + 1] = 7;
        assertEquals(
            whole,
            hash.hash(around, offset, offset + length, second, offset, offset + 2),
            length + " bytes at " + offset);
      }
    }
  }

  @Test
  void theLengthTheTagAndWhereAPairIsSplitCount() {
    SeededHash hash = new SeededHash(43);
    Set<Integer> seen = new HashSet<>();
    // Zero bytes of every length: a zero-padded last word alone would not tell them apart.
    for (int length = 0; length <= 24; length++) {
      assertTrue(seen.add(hash.hash(new byte[length], 0)), "length " + length);
    }
    byte[] key = "group".getBytes(StandardCharsets.UTF_8);
    assertNotEquals(hash.hash(key, 0), hash.hash(key, 1));
    byte[] ab = {1, 2, 3, 4};
    assertNotEquals(hash.hash(ab, 0, 1, ab, 1, 4), hash.hash(ab, 0, 2, ab, 2, 4));
    assertNotEquals(hash.hash(ab, 0, 2, ab, 2, 4), hash.hash(Arrays.copyOf(ab, 4), 2, 4, ab, 0, 2));
  }

  @Test
  void anotherSeedHashesOtherwise() {
    byte[] key = "acct\u001f2026-11-21\u001fuser".getBytes(StandardCharsets.UTF_8);
    assertNotEquals(new SeededHash(1).hash(key, 0), new SeededHash(2).hash(key, 0));
  }
}
