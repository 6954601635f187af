package io.tallyhouse.query.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.tallyhouse.schemas.contract.Workspaces;
import java.math.BigDecimal;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * The store, its poller and its loader over an in-memory source: which days a poll drops, and that
 * a write racing a load is never missed. {@code CompletedDayCacheIntegrationTest} proves the same
 * against ClickHouse.
 */
class ChangeInvalidationTest {

  private static final LocalDate TODAY = LocalDate.parse("2026-11-22");
  private static final LocalDate FIRST = TODAY.minusDays(30);
  private static final LocalDate LAST = TODAY.minusDays(1);
  private static final LocalDate D = LocalDate.parse("2026-11-10");

  private final MovableClock clock =
      new MovableClock(TODAY.atTime(10, 0).toInstant(ZoneOffset.UTC));
  private final MemorySource source = new MemorySource();
  private final MeterRegistry registry = new SimpleMeterRegistry();
  private final CacheMetrics metrics = new CacheMetrics(registry);
  private final DayStore store = new DayStore(1L << 30, metrics);
  private final ChangePoller poller =
      new ChangePoller(source, store, clock, Duration.ofHours(1), metrics);
  private final DayLoader loader = new DayLoader(source, store, clock, metrics);

  @Test
  void aLoadStoresTheWindowOnceAndAnUnchangedWindowIsConfirmedWithOneRead() {
    poller.poll();
    assertEquals(30, loader.load("acme").size());
    assertEquals(30, cached("acme"));
    assertTrue(loader.load("acme").isEmpty(), "nothing missing");
    assertEquals(1, source.loads);
    poller.poll();
    assertEquals(1, source.markerReads, "the second poll read only the total");
    assertEquals(1, source.totalReads);
    assertEquals(30, cached("acme"));
  }

  @Test
  void aWriteDropsOnlyTheDayItReachedOfItsAccount() {
    poller.poll();
    loader.load("acme");
    loader.load("beta");
    source.write("acme", D);
    poller.poll();
    assertEquals(29, cached("acme"));
    assertFalse(store.lookup("acme", D, D).containsKey(D));
    assertEquals(30, cached("beta"));
    assertEquals(1, registry.get("activity_cache_invalidations").counter().count());
  }

  @Test
  void aWriteBetweenTheMarkerReadAndTheRowQueryDropsTheDayAtTheNextPoll() {
    poller.poll();
    source.duringLoad = () -> source.write("acme", D);
    assertTrue(loader.load("acme").containsKey(D), "the load answers with the day");
    assertEquals(30, cached("acme"), "stored under the marker read before the write");
    source.duringLoad = () -> {};
    poller.poll();
    assertEquals(29, cached("acme"));
  }

  @Test
  void aLoadRacedByAWriteAndAPollIsAnsweredButNotKept() {
    poller.poll();
    source.duringLoad =
        () -> {
          source.write("acme", D);
          poller.poll();
        };
    assertTrue(loader.load("acme").containsKey(D));
    assertEquals(29, cached("acme"));
  }

  @Test
  void theWindowMovingDropsTheDayThatLeftIt() {
    poller.poll();
    loader.load("acme");
    clock.advance(Duration.ofDays(1));
    poller.poll();
    assertEquals(29, cached("acme"));
    assertFalse(store.lookup("acme", FIRST, FIRST).containsKey(FIRST));
    assertEquals(
        1, registry.get("activity_cache_evictions").tag("reason", "window").counter().count());
  }

  @Test
  void aWarmUpLoadKeepsAnAccountsWindowOnlyIfItFitsAndNeverEvicts() {
    poller.poll();
    loader.load("acme");
    long acme = (long) store.weight();
    assertEquals(-1, loader.warm("beta", acme + acme / 2), "beta's window does not fit");
    assertEquals(0, cached("beta"));
    assertEquals(30, cached("acme"), "the request's days stay");
    assertEquals(
        0, registry.get("activity_cache_evictions").tag("reason", "size").counter().count());
    assertEquals(acme, loader.warm("beta", 2 * acme), "the same rows weigh the same");
    assertEquals(30, cached("beta"));
    assertEquals(0, loader.warm("beta", 2 * acme), "nothing missing");
    assertEquals(3, source.loads);
  }

  @Test
  void aRequestForTheAccountTheWarmUpLoadsWaitsForThatLoad() throws Exception {
    poller.poll();
    AtomicReference<Map<LocalDate, CachedDay>> answered = new AtomicReference<>();
    Thread request = new Thread(() -> answered.set(loader.load("acme")));
    source.duringLoad =
        () -> {
          request.start();
          // Parked in the warm-up's load, not loading itself.
          while (request.getState() != Thread.State.WAITING) {
            Thread.onSpinWait();
          }
          assertTrue(loader.requestsLoading());
        };
    assertTrue(loader.warm("acme", Long.MAX_VALUE) > 0);
    request.join();
    assertEquals(30, answered.get().size());
    assertEquals(1, source.loads);
    assertFalse(loader.requestsLoading());
  }

  private int cached(String account) {
    return store.lookup(account, FIRST, LAST).size();
  }

  /** Change markers and one row per (account, day), in memory. */
  private static final class MemorySource implements CompletedDaySource {
    private final Map<String, Map<LocalDate, Long>> markers = new HashMap<>();
    private Runnable duringLoad = () -> {};
    private int loads;
    private int markerReads;
    private int totalReads;

    void write(String account, LocalDate date) {
      markers.computeIfAbsent(account, a -> new HashMap<>()).merge(date, 1L, Long::sum);
    }

    @Override
    public DayLoad completedDays(String account, Collection<LocalDate> days) {
      loads++;
      duringLoad.run();
      DayLoad load = new DayLoad();
      String[] counts = {"1", "10", "5", "0", "0", "0"};
      for (LocalDate day : days) {
        load.add(
            day,
            Workspaces.STORED_DEFAULT,
            "a".repeat(64),
            "",
            "openai/gpt-4o",
            "openai/gpt-4o",
            "openai/gpt-4o",
            "OpenAI",
            counts,
            new BigDecimal("0.5"),
            BigDecimal.ZERO);
      }
      return load;
    }

    @Override
    public Map<String, long[]> changeMarkers(LocalDate from, LocalDate to) {
      markerReads++;
      int days = (int) (to.toEpochDay() - from.toEpochDay()) + 1;
      Map<String, long[]> sums = new HashMap<>();
      markers.forEach(
          (account, perDay) ->
              perDay.forEach(
                  (date, sum) -> {
                    long offset = date.toEpochDay() - from.toEpochDay();
                    if (offset >= 0 && offset < days) {
                      sums.computeIfAbsent(account, a -> new long[days])[(int) offset] = sum;
                    }
                  }));
      return sums;
    }

    @Override
    public long changeMarkerTotal(LocalDate from, LocalDate to) {
      totalReads++;
      long total = 0;
      for (Map<LocalDate, Long> perDay : markers.values()) {
        for (Map.Entry<LocalDate, Long> day : perDay.entrySet()) {
          if (!day.getKey().isBefore(from) && !day.getKey().isAfter(to)) {
            total += day.getValue();
          }
        }
      }
      return total;
    }
  }

  /** A UTC clock the test moves. */
  private static final class MovableClock extends Clock {
    private Instant now;

    MovableClock(Instant now) {
      this.now = now;
    }

    void advance(Duration by) {
      now = now.plus(by);
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      throw new UnsupportedOperationException();
    }

    @Override
    public Instant instant() {
      return now;
    }
  }
}
