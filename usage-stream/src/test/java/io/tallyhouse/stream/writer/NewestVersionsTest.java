package io.tallyhouse.stream.writer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tallyhouse.stream.rollup.GroupTotals;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The batch's newest versions and pairs, against the library's maps, across their growth. */
class NewestVersionsTest {

  private record Entry(String key, int shard) {}

  @Test
  void theNewestVersionOfEachGroupAndShardIsKeptInTheOrderTheyFirstAppeared() {
    Random random = new Random(23);
    NewestVersions newest = new NewestVersions(16);
    for (int batch = 0; batch < 3; batch++) {
      newest.clear();
      Map<Entry, Long> expected = new LinkedHashMap<>();
      for (int n = 0; n < 5_000; n++) {
        // Few distinct prefixes: groups whose prefixes are equal still stay apart.
        String key =
            String.format("%08x", random.nextInt(64)) + "\u001fgroup-" + random.nextInt(2_000);
        int shard = random.nextInt(3);
        long version = 1 + random.nextInt(50);
        newest.offer(
            key.getBytes(StandardCharsets.UTF_8),
            shard,
            new GroupTotals(1, 0, 0, 0, 0, BigDecimal.ZERO, BigDecimal.ZERO, 0, version).toBytes());
        expected.merge(new Entry(key, shard), version, Math::max);
      }
      assertEquals(expected.size(), newest.size());
      int i = 0;
      for (Map.Entry<Entry, Long> e : expected.entrySet()) {
        assertEquals(e.getKey().key(), new String(newest.key(i), StandardCharsets.UTF_8));
        assertEquals(e.getKey().shard(), newest.shard(i));
        assertEquals(e.getValue(), GroupTotals.version(newest.value(i)));
        i++;
      }
    }
  }

  @Test
  void aValueThatIsNotStoredTotalsIsRefused() {
    byte[] totals =
        new GroupTotals(1, 0, 0, 0, 0, BigDecimal.ZERO, BigDecimal.ZERO, 0, 1).toBytes();
    NewestVersions newest = new NewestVersions(16);
    assertThrows(
        IllegalArgumentException.class,
        () -> newest.offer(new byte[] {1}, 0, Arrays.copyOf(totals, totals.length - 1)));
  }

  @Test
  void eachPairIsAddedOnceWhereverItsBytesLie() {
    Random random = new Random(29);
    PairSet pairs = new PairSet();
    for (int batch = 0; batch < 3; batch++) {
      pairs.clear();
      Map<List<String>, Boolean> expected = new HashMap<>();
      for (int n = 0; n < 3_000; n++) {
        String first = "acct-" + random.nextInt(30);
        String second = "ws-" + random.nextInt(60);
        // The pair inside larger arrays, at varying offsets.
        String padding = "x".repeat(random.nextInt(5));
        byte[] a = (padding + first + "|").getBytes(StandardCharsets.UTF_8);
        byte[] b = ("|" + second + padding).getBytes(StandardCharsets.UTF_8);
        boolean added = pairs.add(a, padding.length(), a.length - 1, b, 1, 1 + second.length());
        assertEquals(expected.put(List.of(first, second), true) == null, added, first + second);
      }
      assertEquals(expected.size(), pairs.size());
    }
    assertTrue(pairs.add(new byte[] {1, 2}, 0, 1, new byte[] {2}, 0, 1));
    assertFalse(pairs.add(new byte[] {1}, 0, 1, new byte[] {9, 2}, 1, 2));
  }
}
