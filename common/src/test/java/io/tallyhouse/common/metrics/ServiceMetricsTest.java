package io.tallyhouse.common.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Every service's registry reports its build and the JVM, without the meters promtool refuses. */
class ServiceMetricsTest {

  @Test
  void reportsTheBuildAndTheJvmButNotTheLintFailingProcessorMeters() {
    try (ServiceMetrics metrics = ServiceMetrics.create("gateway-ingest")) {
      String text = metrics.registry().scrape();

      assertTrue(
          text.contains(
              "tallyhouse_build_info{service=\"gateway-ingest\",version=\""
                  + ServiceMetrics.version()
                  + "\"} 1"),
          text);
      assertFalse(ServiceMetrics.version().contains("${"), "Maven filled the version in");
      assertTrue(text.contains("jvm_memory_used_bytes{"), text);
      assertTrue(text.contains("process_cpu_usage "), text);
      assertFalse(text.contains("process_cpu_time_ns_total"), text);
      assertFalse(text.contains("system_cpu_count"), text);
      assertEquals(1, text.split("# TYPE tallyhouse_build_info ", -1).length - 1);
    }
  }
}
