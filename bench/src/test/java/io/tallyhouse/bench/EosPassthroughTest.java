package io.tallyhouse.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.tallyhouse.common.runtime.ServiceMain;
import io.tallyhouse.stream.StreamConfig;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.streams.TopologyDescription;
import org.junit.jupiter.api.Test;

/** The peer runs with usage-stream's settings, so the two cannot drift apart. */
class EosPassthroughTest {

  @Test
  void itTakesUsageStreamsDefaultCommitIntervalThreadsAndCompression() {
    Properties p = properties(Map.of());
    assertEquals(EosPassthrough.APPLICATION_ID, p.get("application.id"));
    assertEquals("exactly_once_v2", p.get("processing.guarantee"));
    assertEquals(200L, p.get("commit.interval.ms"));
    assertEquals(
        Math.min(Runtime.getRuntime().availableProcessors(), 6), p.get("num.stream.threads"));
    assertEquals("lz4", p.get("producer.compression.type"));
  }

  @Test
  void itFollowsTheSettingsTheBenchPassesToTheStream() {
    Properties p =
        properties(
            Map.of(
                "COMMIT_INTERVAL_MS", "1000",
                "STREAM_THREADS", "3",
                "PRODUCER_COMPRESSION", "zstd",
                "KAFKA_STREAMS_NUM_STANDBY_REPLICAS", "1"));
    assertEquals(1000L, p.get("commit.interval.ms"));
    assertEquals(3, p.get("num.stream.threads"));
    assertEquals("zstd", p.get("producer.compression.type"));
    assertEquals("1", p.get("num.standby.replicas"));
    assertEquals(EosPassthrough.APPLICATION_ID, p.get("application.id"));
  }

  @Test
  void theTopologyOnlyCopiesTheEventsTopicToItsOwn() {
    TopologyDescription description =
        EosPassthrough.topology("usage-events", EosPassthrough.OUTPUT_TOPIC).describe();
    assertEquals(
        "Topologies:\n"
            + "   Sub-topology: 0\n"
            + "    Source: KSTREAM-SOURCE-0000000000 (topics: [usage-events])\n"
            + "      --> KSTREAM-SINK-0000000001\n"
            + "    Sink: KSTREAM-SINK-0000000001 (topic: "
            + EosPassthrough.OUTPUT_TOPIC
            + ")\n"
            + "      <-- KSTREAM-SOURCE-0000000000\n\n",
        description.toString());
  }

  private static Properties properties(Map<String, String> env) {
    return EosPassthrough.properties(ServiceMain.read(env, StreamConfig::read), 6);
  }
}
