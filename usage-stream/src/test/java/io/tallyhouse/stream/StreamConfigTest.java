package io.tallyhouse.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tallyhouse.common.config.ConfigException;
import io.tallyhouse.common.config.Settings;
import io.tallyhouse.common.runtime.ServiceMain;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Settings whose defaults are computed rather than written down, and settings that cannot be used.
 */
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
    assertEquals(4, read(Map.of("STREAM_THREADS", "4")).streamThreads(6));
  }

  @Test
  void theDefaultsFollowTheEventsTopicAsDescribedNotThePartitionsSettingForNewTopics() {
    StreamConfig config = read(Map.of("EVENTS_PARTITIONS", "1"));
    int cores = Runtime.getRuntime().availableProcessors();
    assertEquals(StreamConfig.defaultStreamThreads(cores, 12), config.streamThreads(12));
    assertEquals(
        StreamConfig.defaultRollupCacheGroups(Runtime.getRuntime().maxMemory(), 12),
        config.rollupCacheGroups(12));
  }

  @Test
  void anExplicitCacheSizeWins() {
    assertEquals(1234, read(Map.of("ROLLUP_CACHE_GROUPS", "1234")).rollupCacheGroups(6));
    assertEquals(
        StreamConfig.defaultRollupCacheGroups(Runtime.getRuntime().maxMemory(), 3),
        read(Map.of()).rollupCacheGroups(3));
  }

  @Test
  void aSettingThatIsNoNumberOrOutOfRangeStopsStartUpNamingTheVariable() {
    assertEquals(
        List.of("WRITER_BATCH_ROWS=0: must be from 1 to 2147483647"),
        problems(Map.of("WRITER_BATCH_ROWS", "0")));
    assertEquals(
        List.of("STREAM_THREADS=two: must be a whole number"),
        problems(Map.of("STREAM_THREADS", "two")));
    assertEquals(3, read(Map.of("STREAM_THREADS", "3")).streamThreads(6));
  }

  @Test
  void everyBrokenSettingIsReportedAtOnce() {
    List<String> problems =
        problems(
            Map.of(
                "WRITER_BATCH_ROWS",
                "0",
                "STREAM_THREADS",
                "two",
                "DEDUP_WINDOW_DAYS",
                "-1",
                "HTTP_PORT",
                "70000",
                "PRODUCER_COMPRESSION",
                "brotli",
                "COMMIT_INTERVAL_MS",
                "soon"));
    assertEquals(6, problems.size(), problems.toString());
    for (String variable :
        List.of(
            "WRITER_BATCH_ROWS=0",
            "STREAM_THREADS=two",
            "DEDUP_WINDOW_DAYS=-1",
            "HTTP_PORT=70000",
            "PRODUCER_COMPRESSION=brotli",
            "COMMIT_INTERVAL_MS=soon")) {
      assertTrue(
          problems.stream().anyMatch(p -> p.startsWith(variable + ": ")),
          variable + " in " + problems);
    }
  }

  @Test
  void theDistinctEventsTopicHasOneNameAndTheRetiredOneIsRefused() {
    assertEquals("usage-events-distinct", read(Map.of()).distinctEventsTopic());
    assertEquals("orders-distinct", read(Map.of("EVENTS_TOPIC", "orders")).distinctEventsTopic());
    assertEquals("mine", read(Map.of("DISTINCT_EVENTS_TOPIC", "mine")).distinctEventsTopic());
    List<String> problems = problems(Map.of("RAW_EVENTS_TOPIC", "old-name"));
    assertEquals(1, problems.size(), problems.toString());
    assertTrue(
        problems.get(0).startsWith("RAW_EVENTS_TOPIC=old-name: ")
            && problems.get(0).contains("DISTINCT_EVENTS_TOPIC"),
        problems.get(0));
  }

  @Test
  void theDedupWindowIsThePipelineSettingGatewayIngestReadsToo() {
    assertEquals(Duration.ofDays(35), read(Map.of()).dedupWindow());
    assertEquals(Duration.ofDays(10), read(Map.of("DEDUP_WINDOW_DAYS", "10")).dedupWindow());
  }

  @Test
  void everyVariableIsDescribedAndTheComputedDefaultsSayHowTheyAreComputed() {
    Settings settings = Settings.of(Map.of());
    StreamConfig.read(settings);
    Map<String, Settings.Setting> described = new java.util.HashMap<>();
    settings.described().forEach(d -> described.put(d.name(), d));
    for (String name :
        List.of(
            "APPLICATION_ID",
            "KAFKA_BOOTSTRAP_SERVERS",
            "EVENTS_TOPIC",
            "DISTINCT_EVENTS_TOPIC",
            "DEAD_LETTER_TOPIC",
            "STATE_DIR",
            "COMMIT_INTERVAL_MS",
            "CLICKHOUSE_URL",
            "WRITER_BATCH_ROWS",
            "WRITER_MAX_WAIT_MS",
            "WRITER_COMMIT_TIMEOUT_MS",
            "RAW_RETENTION_DAYS",
            "STREAM_THREADS",
            "ROLLUP_CACHE_GROUPS",
            "PRODUCER_COMPRESSION",
            "HTTP_HOST",
            "HTTP_PORT",
            "CONTINUE_FROM_APPLICATION_ID",
            "NEW_GENERATION_AFTER",
            "CLOSE_BATCH_GROUPS",
            "DEDUP_WINDOW_DAYS")) {
      assertTrue(described.containsKey(name), name + " is described");
      assertFalse(described.get(name).meaning().isBlank(), name + " has a meaning");
    }
    assertTrue(described.get("STREAM_THREADS").defaultText().contains("per core"));
    assertTrue(described.get("ROLLUP_CACHE_GROUPS").defaultText().contains("quarter of the heap"));
  }

  private static StreamConfig read(Map<String, String> env) {
    return ServiceMain.read(env, StreamConfig::read);
  }

  private static List<String> problems(Map<String, String> env) {
    return assertThrows(ConfigException.class, () -> read(env)).problems();
  }
}
