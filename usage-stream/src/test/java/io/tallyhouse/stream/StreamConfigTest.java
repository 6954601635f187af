package io.tallyhouse.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** Settings whose defaults are computed rather than written down, and settings that cannot be used. */
class StreamConfigTest {

  private static final long MIB = 1024 * 1024;

  @Test
  void theRollupCachesTakeAQuarterOfTheHeapSharedOutOverThePartitions() {
    // 6 GiB / 4 / 500 bytes / 6 partitions.
    assertEquals(536_870, StreamConfig.defaultRollupCacheGroups(6144 * MIB, 6));
    assertEquals(44_739, StreamConfig.defaultRollupCacheGroups(512 * MIB, 6));
    assertEquals(268_435, StreamConfig.defaultRollupCacheGroups(512 * MIB, 1));
  }

  @Test
  void aSmallHeapStillCachesTheHottestGroups() {
    assertEquals(10_000, StreamConfig.defaultRollupCacheGroups(64 * MIB, 48));
  }

  @Test
  void oneStreamThreadPerCoreButNotMoreThanThePartitions() {
    assertEquals(2, StreamConfig.defaultStreamThreads(2, 6));
    assertEquals(6, StreamConfig.defaultStreamThreads(32, 6));
    assertEquals(1, StreamConfig.defaultStreamThreads(1, 6));
    assertEquals(4, StreamConfig.fromEnv(Map.of("STREAM_THREADS", "4")).streamThreads());
  }

  @Test
  void anExplicitCacheSizeWins() {
    assertEquals(1234, StreamConfig.fromEnv(Map.of("ROLLUP_CACHE_GROUPS", "1234")).rollupCacheGroups());
    assertEquals(StreamConfig.defaultRollupCacheGroups(Runtime.getRuntime().maxMemory(), 3),
        StreamConfig.fromEnv(Map.of("EVENTS_PARTITIONS", "3")).rollupCacheGroups());
  }

  @Test
  void aSettingThatIsNoNumberOrOutOfRangeStopsStartUpNamingTheVariable() {
    assertEquals("WRITER_BATCH_ROWS must be from 1 to 2147483647, got: 0", assertThrows(IllegalArgumentException.class,
        () -> StreamConfig.fromEnv(Map.of("WRITER_BATCH_ROWS", "0"))).getMessage());
    assertEquals("STREAM_THREADS must be a whole number, got: two", assertThrows(IllegalArgumentException.class,
        () -> StreamConfig.fromEnv(Map.of("STREAM_THREADS", "two"))).getMessage());
    assertEquals(3, StreamConfig.fromEnv(Map.of("STREAM_THREADS", "3")).streamThreads());
  }
}
