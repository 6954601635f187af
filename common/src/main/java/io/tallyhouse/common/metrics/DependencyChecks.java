package io.tallyhouse.common.metrics;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code tallyhouse_dependency_up{dependency}}: 1 when the last check of a dependency (Kafka, the
 * schema registry, ClickHouse) succeeded, 0 when it failed. The checks are the ones readiness runs:
 * readiness calls {@link #check} and its result is recorded; a background thread checks again only
 * a dependency nobody checked for an interval, so a scrape never causes a check and a service whose
 * readiness is polled adds no load.
 */
public final class DependencyChecks implements AutoCloseable {

  public static final String KAFKA = "kafka";
  public static final String SCHEMA_REGISTRY = "schema_registry";
  public static final String CLICKHOUSE = "clickhouse";

  /** How long a result stands before the background thread checks again. */
  public static final Duration INTERVAL = Duration.ofSeconds(10);

  private static final Logger LOG = LoggerFactory.getLogger(DependencyChecks.class);

  private final Map<String, Dependency> dependencies = new LinkedHashMap<>();
  private final LongSupplier nanoTime;
  private final Duration interval;
  private ScheduledExecutorService scheduler;

  /** One dependency: its check and what the last one said (-1: not checked yet). */
  private static final class Dependency {
    final BooleanSupplier check;
    final AtomicLong up = new AtomicLong(-1);
    volatile long checkedAtNanos;

    Dependency(BooleanSupplier check) {
      this.check = check;
    }
  }

  /**
   * @param checks each dependency's name ({@link #KAFKA}, {@link #SCHEMA_REGISTRY}, {@link
   *     #CLICKHOUSE}) and its check, which must return within seconds
   */
  public DependencyChecks(MeterRegistry metrics, Map<String, BooleanSupplier> checks) {
    this(metrics, checks, System::nanoTime, INTERVAL);
  }

  DependencyChecks(
      MeterRegistry metrics,
      Map<String, BooleanSupplier> checks,
      LongSupplier nanoTime,
      Duration interval) {
    this.nanoTime = nanoTime;
    this.interval = interval;
    checks.forEach(
        (name, check) -> {
          Dependency dependency = new Dependency(check);
          dependencies.put(name, dependency);
          Gauge.builder(
                  "tallyhouse_dependency_up",
                  dependency,
                  d -> d.up.get() < 0 ? Double.NaN : d.up.get())
              .description(
                  "1 when the last check of the dependency (the one readiness runs) succeeded, 0 when it failed")
              .tag("dependency", name)
              .register(metrics);
        });
  }

  /** Checks {@code dependency} now and records the answer. */
  public boolean check(String dependency) {
    Dependency d = dependencies.get(dependency);
    if (d == null) {
      throw new IllegalArgumentException("no check for dependency " + dependency);
    }
    boolean up;
    try {
      up = d.check.getAsBoolean();
    } catch (RuntimeException e) {
      LOG.debug("the check of {} failed", dependency, e);
      up = false;
    }
    d.up.set(up ? 1 : 0);
    d.checkedAtNanos = nanoTime.getAsLong();
    return up;
  }

  /** Checks every dependency that nobody checked for the interval. */
  void checkStale() {
    long now = nanoTime.getAsLong();
    dependencies.forEach(
        (name, d) -> {
          if (d.up.get() < 0 || now - d.checkedAtNanos >= interval.toNanos()) {
            check(name);
          }
        });
  }

  /** Starts the background checks (the first at once). */
  public DependencyChecks start() {
    scheduler =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "dependency-checks");
              t.setDaemon(true);
              return t;
            });
    long period = Math.max(1, interval.toMillis() / 2);
    scheduler.scheduleWithFixedDelay(this::checkStaleLogged, 0, period, TimeUnit.MILLISECONDS);
    return this;
  }

  private void checkStaleLogged() {
    try {
      checkStale();
    } catch (RuntimeException e) {
      LOG.warn("checking the dependencies failed", e);
    }
  }

  @Override
  public void close() {
    if (scheduler != null) {
      scheduler.shutdownNow();
    }
  }
}
