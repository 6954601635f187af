package io.tallyhouse.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class IngestBenchTest {

  /** ProducerPerformance's output as Kafka 4.1 prints it: 5 s windows, then the whole run. */
  private static final String OUTPUT =
      """
      300000 records sent, 60000.0 records/sec (11.44 MB/sec), 120.1 ms avg latency, 900.0 ms max latency.
      500000 records sent, 100000.0 records/sec (19.07 MB/sec), 40.2 ms avg latency, 80.0 ms max latency.
      750000 records sent, 150000.0 records/sec (28.61 MB/sec), 10.3 ms avg latency, 30.0 ms max latency.
      600000 records sent, 120000.0 records/sec (22.89 MB/sec), 12.0 ms avg latency, 35.0 ms max latency.
      2400000 records sent, 110091.743119 records/sec (21.00 MB/sec), 35.50 ms avg latency, 900.00 ms max latency, 8 ms 50th, 150 ms 95th, 600 ms 99th, 880 ms 99.9th.
      """;

  @Test
  void theSteadyRateLeavesOutTheWindowsOfTheWarmUp() {
    IngestBench.ProducerRates rates = IngestBench.producerRates(OUTPUT, 10);

    // The windows starting at 10 s and 15 s: 1 350 000 records in 10 s.
    assertEquals(135000.0, rates.steady(), 1e-6);
    assertEquals(110091.743119, rates.wholeRun(), 1e-6);
  }

  @Test
  void aRunWithoutAWindowAfterTheWarmUpHasNoSteadyRate() {
    IngestBench.ProducerRates rates = IngestBench.producerRates(OUTPUT, 30);

    assertTrue(Double.isNaN(rates.steady()));
    assertEquals(110091.743119, rates.wholeRun(), 1e-6);
  }
}
