package io.tallyhouse.stream.monitoring;

import io.prometheus.metrics.model.registry.Collector;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;

/**
 * {@code stream_consumer_lag_records{consumer,topic,partition}}: how many records each partition a
 * consumer of this instance holds is behind the partition's end, as the Kafka client itself
 * measures it ({@code records-lag} of {@code consumer-fetch-manager-metrics}, updated at every
 * fetch). Read when Prometheus scrapes, so a partition the consumer no longer holds (whose lag
 * metric the client removed) disappears at once; no request goes to Kafka.
 */
public final class ConsumerLag implements Collector {

  public static final String NAME = "stream_consumer_lag_records";

  private static final String GROUP = "consumer-fetch-manager-metrics";
  private static final String LAG = "records-lag";

  /**
   * One consumer: its {@code consumer} label, where its client metrics are read, and which of them
   * count (for example only the main consumer among a Kafka Streams instance's clients).
   */
  public record Source(
      String consumer,
      Supplier<Map<MetricName, ? extends Metric>> metrics,
      Predicate<MetricName> counts) {}

  private final List<Source> sources;

  public ConsumerLag(List<Source> sources) {
    this.sources = List.copyOf(sources);
  }

  /**
   * The main consumers of a Kafka Streams instance on {@code topic}: not its restore consumers
   * (which read changelogs into standby and restoring stores), nor its producers or admin client.
   */
  public static Predicate<MetricName> streamsMainConsumerOn(String topic) {
    return name -> {
      String client = name.tags().getOrDefault("client-id", "");
      return client.endsWith("-consumer")
          && !client.endsWith("-restore-consumer")
          && topic.equals(name.tags().get("topic"));
    };
  }

  @Override
  public String getPrometheusName() {
    return NAME;
  }

  @Override
  public MetricSnapshot collect() {
    // Keyed by consumer, topic, partition: in a rebalance two stream threads may both report a
    // partition for a moment; the larger lag is the one to show.
    Map<List<String>, Double> lags = new TreeMap<>(ConsumerLag::compare);
    for (Source source : sources) {
      for (Map.Entry<MetricName, ? extends Metric> entry : source.metrics().get().entrySet()) {
        MetricName name = entry.getKey();
        String topic = name.tags().get("topic");
        String partition = name.tags().get("partition");
        if (!LAG.equals(name.name())
            || !GROUP.equals(name.group())
            || topic == null
            || partition == null
            || !source.counts().test(name)
            || !(entry.getValue().metricValue() instanceof Number value)
            || Double.isNaN(value.doubleValue())) {
          continue;
        }
        lags.merge(List.of(source.consumer(), topic, partition), value.doubleValue(), Math::max);
      }
    }
    GaugeSnapshot.Builder gauge =
        GaugeSnapshot.builder()
            .name(NAME)
            .help(
                "records each partition held by this instance's consumers is behind its end"
                    + " (consumer rollup: Kafka Streams on the events topic; writer: the ClickHouse"
                    + " writer)");
    lags.forEach(
        (key, lag) ->
            gauge.dataPoint(
                GaugeDataPointSnapshot.builder()
                    .value(lag)
                    .labels(
                        Labels.of(
                            "consumer", key.get(0), "topic", key.get(1), "partition", key.get(2)))
                    .build()));
    return gauge.build();
  }

  private static int compare(List<String> a, List<String> b) {
    for (int i = 0; i < a.size(); i++) {
      int c = a.get(i).compareTo(b.get(i));
      if (c != 0) {
        return c;
      }
    }
    return 0;
  }
}
