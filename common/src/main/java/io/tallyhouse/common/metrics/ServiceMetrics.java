package io.tallyhouse.common.metrics;

import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.prometheus.metrics.core.metrics.Info;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;
import java.util.Set;

/**
 * The metrics registry of a service (deploy/monitoring/METRICS.md): Prometheus text, with {@code
 * tallyhouse_build_info{service,version}} and the JVM and process meters every service reports.
 * Closing it removes the garbage-collection listeners it installed in the JVM.
 */
public final class ServiceMetrics implements AutoCloseable {

  /**
   * ProcessorMetrics meters whose Prometheus names fail {@code promtool check metrics} ({@code
   * process_cpu_time_ns_total}: an abbreviated unit; {@code system_cpu_count}: a {@code _count}
   * suffix on a gauge); the CPU usage gauges of the same binder pass and stay.
   */
  static final Set<String> LINT_FAILING = Set.of("process.cpu.time", "system.cpu.count");

  private final PrometheusMeterRegistry registry;
  private final JvmGcMetrics gc;

  private ServiceMetrics(PrometheusMeterRegistry registry, JvmGcMetrics gc) {
    this.registry = registry;
    this.gc = gc;
  }

  /** The registry the service's meters go to and {@code /metrics} renders. */
  public PrometheusMeterRegistry registry() {
    return registry;
  }

  @Override
  public void close() {
    gc.close();
    registry.close();
  }

  /** A registry for {@code service} with the build and JVM meters bound. */
  public static ServiceMetrics create(String service) {
    PrometheusMeterRegistry metrics = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    metrics.config().meterFilter(MeterFilter.deny(id -> LINT_FAILING.contains(id.getName())));
    // An info metric of the Prometheus client itself: Micrometer would render a gauge named
    // *_info without the suffix.
    Info.builder()
        .name("tallyhouse_build_info")
        .help("always 1; the labels say which service and version runs")
        .labelNames("service", "version")
        .register(metrics.getPrometheusRegistry())
        .setLabelValues(service, version());
    new JvmMemoryMetrics().bindTo(metrics);
    JvmGcMetrics gc = new JvmGcMetrics();
    gc.bindTo(metrics);
    new JvmThreadMetrics().bindTo(metrics);
    new ProcessorMetrics().bindTo(metrics);
    new UptimeMetrics().bindTo(metrics);
    return new ServiceMetrics(metrics, gc);
  }

  /** This build's version ({@code project.version}), as Maven wrote it into build.properties. */
  public static String version() {
    Properties build = new Properties();
    try (InputStream in = ServiceMetrics.class.getResourceAsStream("build.properties")) {
      if (in == null) {
        throw new IllegalStateException("build.properties is missing from tallyhouse-common");
      }
      build.load(in);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read build.properties of tallyhouse-common", e);
    }
    return build.getProperty("version");
  }
}
