package io.tallyhouse.common.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The dependency gauge shows what the last check said, readiness' checks count as checks, and the
 * background only checks a dependency nobody checked for an interval.
 */
class DependencyChecksTest {

  private final SimpleMeterRegistry metrics = new SimpleMeterRegistry();
  private final AtomicLong now = new AtomicLong();
  private final AtomicBoolean clickHouseUp = new AtomicBoolean(true);
  private final AtomicInteger clickHouseChecks = new AtomicInteger();
  private final DependencyChecks checks =
      new DependencyChecks(
          metrics,
          Map.of(
              DependencyChecks.CLICKHOUSE,
              () -> {
                clickHouseChecks.incrementAndGet();
                return clickHouseUp.get();
              },
              DependencyChecks.KAFKA,
              () -> {
                throw new IllegalStateException("a check that throws counts as down");
              }),
          now::get,
          Duration.ofSeconds(10));

  private double up(String dependency) {
    return metrics.get("tallyhouse_dependency_up").tag("dependency", dependency).gauge().value();
  }

  @Test
  void theGaugeIsUnknownUntilTheFirstCheckThenFollowsTheLastOne() {
    assertTrue(Double.isNaN(up(DependencyChecks.CLICKHOUSE)));

    assertTrue(checks.check(DependencyChecks.CLICKHOUSE));
    assertEquals(1.0, up(DependencyChecks.CLICKHOUSE));

    clickHouseUp.set(false);
    assertEquals(1.0, up(DependencyChecks.CLICKHOUSE), "reading the gauge checks nothing");
    assertEquals(false, checks.check(DependencyChecks.CLICKHOUSE));
    assertEquals(0.0, up(DependencyChecks.CLICKHOUSE));

    assertEquals(false, checks.check(DependencyChecks.KAFKA));
    assertEquals(0.0, up(DependencyChecks.KAFKA));
  }

  @Test
  void theBackgroundOnlyChecksWhatNobodyCheckedForAnInterval() {
    checks.checkStale();
    assertEquals(1, clickHouseChecks.get(), "never checked: checked at once");

    now.addAndGet(Duration.ofSeconds(9).toNanos());
    checks.check(DependencyChecks.CLICKHOUSE);
    assertEquals(2, clickHouseChecks.get());
    now.addAndGet(Duration.ofSeconds(9).toNanos());
    checks.checkStale();
    assertEquals(2, clickHouseChecks.get(), "readiness checked 9 s ago: no extra check");

    now.addAndGet(Duration.ofSeconds(1).toNanos());
    checks.checkStale();
    assertEquals(3, clickHouseChecks.get(), "10 s without a check: checked again");
  }
}
