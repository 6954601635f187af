package io.tallyhouse.stream.monitoring;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.common.metrics.Metrics;
import org.apache.kafka.common.metrics.Sensor;
import org.apache.kafka.common.metrics.stats.Value;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The lag gauge over the Kafka clients' own metrics registries (real {@link Metrics}, as the
 * consumers keep them): only records-lag of the chosen consumers, per partition, gone with the
 * partition.
 */
class ConsumerLagTest {

  private static final String EVENTS = "tally-events";

  private final Metrics streamsClients = new Metrics();
  private final Metrics writerClient = new Metrics();

  @AfterEach
  void close() {
    streamsClients.close();
    writerClient.close();
  }

  private static void lag(Metrics metrics, String client, String topic, int partition, double lag) {
    fetchMetric(metrics, client, topic, partition, "records-lag", lag);
  }

  private static void fetchMetric(
      Metrics metrics, String client, String topic, int partition, String name, double value) {
    String sensorName = client + "/" + topic + "/" + partition + "/" + name;
    Sensor sensor = metrics.getSensor(sensorName);
    if (sensor == null) {
      sensor = metrics.sensor(sensorName);
      sensor.add(
          metrics.metricName(
              name,
              "consumer-fetch-manager-metrics",
              Map.of("client-id", client, "topic", topic, "partition", String.valueOf(partition))),
          new Value());
    }
    sensor.record(value);
  }

  private ConsumerLag lagGauge() {
    return new ConsumerLag(
        List.of(
            new ConsumerLag.Source(
                "rollup", streamsClients::metrics, ConsumerLag.streamsMainConsumerOn(EVENTS)),
            new ConsumerLag.Source("writer", writerClient::metrics, name -> true)));
  }

  /** consumer/topic/partition to lag, as the gauge reports it. */
  private Map<String, Double> collected() {
    GaugeSnapshot snapshot = (GaugeSnapshot) lagGauge().collect();
    assertEquals(ConsumerLag.NAME, snapshot.getMetadata().getName());
    Map<String, Double> lags = new TreeMap<>();
    for (GaugeDataPointSnapshot point : snapshot.getDataPoints()) {
      lags.put(
          point.getLabels().get("consumer")
              + "/"
              + point.getLabels().get("topic")
              + "/"
              + point.getLabels().get("partition"),
          point.getValue());
    }
    return lags;
  }

  @Test
  void reportsTheMainConsumersLagOnTheEventsTopicAndTheWritersOnEveryTopic() {
    lag(streamsClients, "app-1-StreamThread-1-consumer", EVENTS, 0, 12);
    lag(streamsClients, "app-1-StreamThread-2-consumer", EVENTS, 1, 0);
    lag(streamsClients, "app-1-StreamThread-1-restore-consumer", EVENTS, 0, 999);
    lag(streamsClients, "app-1-StreamThread-1-consumer", "app-rollups-changelog", 0, 999);
    fetchMetric(streamsClients, "app-1-StreamThread-1-consumer", EVENTS, 0, "records-lead", 999);
    lag(writerClient, "writer-1", "tally-events-distinct", 3, 40);

    assertEquals(
        Map.of(
            "rollup/tally-events/0", 12.0,
            "rollup/tally-events/1", 0.0,
            "writer/tally-events-distinct/3", 40.0),
        collected());
  }

  @Test
  void aPartitionReportedByTwoThreadsInARebalanceShowsItsLargerLag() {
    lag(streamsClients, "app-1-StreamThread-1-consumer", EVENTS, 0, 5);
    lag(streamsClients, "app-1-StreamThread-2-consumer", EVENTS, 0, 7);

    assertEquals(Map.of("rollup/tally-events/0", 7.0), collected());
  }

  @Test
  void aPartitionNoLongerAssignedDisappears() {
    lag(writerClient, "writer-1", "tally-events-distinct", 0, 1);
    lag(writerClient, "writer-1", "tally-events-distinct", 1, 2);
    assertEquals(2, collected().size());

    // What the consumer's fetch metrics do for a partition it lost.
    writerClient.removeSensor("writer-1/tally-events-distinct/1/records-lag");

    assertEquals(Map.of("writer/tally-events-distinct/0", 1.0), collected());
  }
}
