package io.tallyhouse.query.cache;

import static io.tallyhouse.query.QueryTestEnv.A1;
import static io.tallyhouse.query.QueryTestEnv.AFTER_MIDNIGHT;
import static io.tallyhouse.query.QueryTestEnv.CLAUDE;
import static io.tallyhouse.query.QueryTestEnv.D1;
import static io.tallyhouse.query.QueryTestEnv.D2;
import static io.tallyhouse.query.QueryTestEnv.OPENAI;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.tallyhouse.common.auth.CredentialKind;
import io.tallyhouse.common.auth.CredentialStore;
import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.query.ActivityServer;
import io.tallyhouse.query.FlakyClickHouseProxy;
import io.tallyhouse.query.QueryTestEnv;
import io.tallyhouse.testkit.Await;
import io.tallyhouse.testkit.ClickHouseEndpoint;
import io.tallyhouse.testkit.Infra;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The cache's warm-up at start against a real ClickHouse: the order of the accounts, a warmed
 * account's first request answered from memory with the SQL path's bytes, the bound, the metrics
 * and readiness, a failing ClickHouse, and the warm-up switched off. The rows are in place before
 * each service starts, as after a restart.
 */
class CacheWarmupIntegrationTest {

  /** Active yesterday, with the most requests. */
  private static final String BIG = "big";

  /** Active yesterday, with few requests. */
  private static final String RECENT = "recent";

  /** More requests than any other, but none since 2026-11-01. */
  private static final String OLD = "old";

  /** Rows only before the window. */
  private static final String GONE = "gone";

  private static final List<String> ORDER = List.of(BIG, RECENT, OLD);

  private static final List<String> QUERIES =
      List.of("", "date=" + D1, "date=" + D2, "group_by=user", "user_id=u1", "api_key_hash=" + A1);

  private static final Duration BOUND = Duration.ofMinutes(2);

  private static ClickHouseEndpoint endpoint;
  private static String database;
  private static ClickHouse clickHouse;
  private static CredentialStore keys;
  private static final Map<String, String> SECRETS = new HashMap<>();

  /** CACHE_MAX_BYTES=0: every answer from SQL, the reference for the bytes. */
  private static ActivityServer uncached;

  @BeforeAll
  static void start() throws Exception {
    endpoint = Infra.clickhouse();
    database = QueryTestEnv.newDatabase("aqwarm");
    keys = QueryTestEnv.newKeyStore("activity-query-warmup");
    for (String account : List.of(BIG, RECENT, OLD, GONE)) {
      SECRETS.put(account, QueryTestEnv.newKey(keys, CredentialKind.MANAGEMENT, account));
    }
    Map<String, String> env = QueryTestEnv.of(endpoint, database, keys.file());
    clickHouse = QueryTestEnv.clickHouse(endpoint, database);
    List<String> rows = new ArrayList<>();
    for (int d = 1; d <= 20; d++) {
      String date = LocalDate.parse(D1).minusDays(d - 1).toString();
      for (String user : List.of("u1", "u2", "u3")) {
        rows.add(row(BIG, date, user, OPENAI, 40));
        rows.add(row(BIG, date, user, CLAUDE, 30));
      }
      if (d % 3 == 1) {
        rows.add(row(RECENT, date, "u1", OPENAI, 2));
      }
    }
    rows.add(row(OLD, "2026-11-01", "u1", OPENAI, 100_000));
    rows.add(row(OLD, "2026-10-30", "u2", CLAUDE, 100_000));
    rows.add(row(GONE, "2026-10-01", "u1", OPENAI, 5));
    QueryTestEnv.insert(clickHouse, "usage_daily", rows);
    QueryTestEnv.insert(
        clickHouse,
        "api_key_hashes",
        List.of(
            QueryTestEnv.accountRow(BIG, "api_key_hash", A1),
            QueryTestEnv.accountRow(RECENT, "api_key_hash", A1),
            QueryTestEnv.accountRow(OLD, "api_key_hash", A1)));
    env.put("CACHE_MAX_BYTES", "0");
    uncached = ActivityServer.start(QueryTestEnv.config(env), clock());
  }

  @AfterAll
  static void stop() {
    QueryTestEnv.close(uncached);
    QueryTestEnv.dropDatabase(clickHouse, database);
  }

  private static String row(
      String account, String date, String user, QueryTestEnv.Endpoint ep, long requests) {
    return QueryTestEnv.rollupRow(
        account, date, A1, user, ep, requests, requests + ".000000000125", "0", 0, 1);
  }

  private static Clock clock() {
    return Clock.fixed(AFTER_MIDNIGHT, ZoneOffset.UTC);
  }

  /** A service on the test's database through {@code url}, with {@code settings} added. */
  private static ActivityServer service(String url, Map<String, String> settings) {
    Map<String, String> env = QueryTestEnv.unmigrated(url, endpoint, database, keys.file());
    env.putAll(settings);
    return ActivityServer.start(QueryTestEnv.config(env), clock());
  }

  private static double metric(ActivityServer server, String series) throws Exception {
    return QueryTestEnv.metric(server, series);
  }

  private static double warmed(ActivityServer server, String progress) throws Exception {
    return metric(server, "activity_cache_warmup_accounts{progress=\"" + progress + "\"}");
  }

  private static void awaitWarm(ActivityServer server) throws InterruptedException {
    awaitMetric(server, "activity_cache_warmup_done", 1);
  }

  /** Waits until {@code server}'s {@code series} is at least {@code least}. */
  private static void awaitMetric(ActivityServer server, String series, double least)
      throws InterruptedException {
    Await.until(
        series + " >= " + least,
        () -> {
          try {
            return metric(server, series) >= least;
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
        },
        BOUND);
  }

  private static int ready(ActivityServer server) throws Exception {
    return QueryTestEnv.get(server, null, "/health/ready", "").statusCode();
  }

  private static HttpResponse<String> activity(ActivityServer server, String account, String query)
      throws Exception {
    return QueryTestEnv.get(server, "Bearer " + SECRETS.get(account), "/api/v1/activity", query);
  }

  @Test
  void theMostRecentlyActiveAccountsComeFirstThenTheLargest() {
    LocalDate today = LocalDate.ofInstant(AFTER_MIDNIGHT, ZoneOffset.UTC);
    assertEquals(
        ORDER,
        new CompletedDayRepository(clickHouse, new SimpleMeterRegistry())
            .recentAccounts(today.minusDays(30), today.minusDays(1)));
  }

  @Test
  void aWarmedAccountsFirstRequestIsAHitWithTheSqlPathsBytes() throws Exception {
    ActivityServer server = service(endpoint.httpUrl(), Map.of());
    try {
      awaitWarm(server);
      assertEquals(200, ready(server));
      assertEquals(3, warmed(server, "planned"));
      assertEquals(3, warmed(server, "loaded"));
      assertEquals(3 * 30, metric(server, "activity_cache_entries"));
      double bytes = metric(server, "activity_cache_warmup_bytes");
      assertTrue(bytes > 0, "bytes " + bytes);
      assertEquals(metric(server, "activity_cache_bytes"), bytes);
      assertTrue(metric(server, "activity_cache_warmup_seconds") >= 0);
      assertEquals(0, metric(server, "activity_cache_warmup_failures_total"));
      int requests = 0;
      for (String account : ORDER) {
        for (String query : QUERIES) {
          HttpResponse<String> answer = activity(server, account, query);
          assertEquals(200, answer.statusCode(), account + "?" + query + ": " + answer.body());
          assertEquals(
              activity(uncached, account, query).body(), answer.body(), account + "?" + query);
          requests++;
        }
      }
      assertEquals(0, QueryTestEnv.cacheAnswers(server, CompletedDayCache.MISS));
      assertEquals(0, QueryTestEnv.cacheAnswers(server, CompletedDayCache.BYPASS));
      assertEquals(requests, QueryTestEnv.cacheAnswers(server, CompletedDayCache.HIT));
      assertEquals(0, metric(server, "activity_cache_evictions_total{reason=\"size\"}"));
    } finally {
      server.close();
    }
  }

  /** The bytes each account's window weighs in the cache and the rows its load reads. */
  private record Window(double bytes, double rows) {}

  private static Map<String, Window> windows;

  /** Each account's window as its first request loads it, with the warm-up off; measured once. */
  private static synchronized Map<String, Window> windows() throws Exception {
    if (windows == null) {
      ActivityServer off = service(endpoint.httpUrl(), Map.of("CACHE_WARMUP", "off"));
      try {
        QueryTestEnv.awaitFreshPoll(off);
        Map<String, Window> measured = new HashMap<>();
        double bytes = 0;
        double rows = 0;
        for (String account : ORDER) {
          assertEquals(200, activity(off, account, "").statusCode());
          double bytesNow = metric(off, "activity_cache_bytes");
          double rowsNow = metric(off, "activity_cache_loaded_rows_total");
          measured.put(account, new Window(bytesNow - bytes, rowsNow - rows));
          bytes = bytesNow;
          rows = rowsNow;
        }
        windows = measured;
      } finally {
        off.close();
      }
    }
    return windows;
  }

  /** A service whose warm-up may fill {@code share} bytes: CACHE_MAX_BYTES for that share. */
  private static ActivityServer withWarmUpShare(double share) {
    // The warm-up's limit is CACHE_MAX_BYTES / 100 * SHARE_PERCENT: a bound that gives at least
    // the share and less than 100 bytes more.
    long bound = ((long) share / CacheWarmup.SHARE_PERCENT + 1) * 100;
    return service(endpoint.httpUrl(), Map.of("CACHE_MAX_BYTES", String.valueOf(bound)));
  }

  @Test
  void aBoundForTheFirstAccountOnlyWarmsItSkipsTheOthersAndEvictsNothing() throws Exception {
    Map<String, Window> w = windows();
    double big = w.get(BIG).bytes();
    // Room for the first account and half of the smaller of the others.
    ActivityServer server =
        withWarmUpShare(big + Math.min(w.get(RECENT).bytes(), w.get(OLD).bytes()) / 2);
    try {
      awaitWarm(server);
      assertEquals(3, warmed(server, "planned"));
      assertEquals(1, warmed(server, "loaded"));
      assertEquals(2, metric(server, "activity_cache_warmup_accounts_skipped_total"));
      assertEquals(big, metric(server, "activity_cache_warmup_bytes"));
      assertEquals(big, metric(server, "activity_cache_bytes"));
      assertEquals(0, metric(server, "activity_cache_evictions_total{reason=\"size\"}"));
      assertEquals(activity(uncached, BIG, "").body(), activity(server, BIG, "").body());
      assertEquals(1, QueryTestEnv.cacheAnswers(server, CompletedDayCache.HIT));
      assertEquals(activity(uncached, RECENT, "").body(), activity(server, RECENT, "").body());
      assertEquals(1, QueryTestEnv.cacheAnswers(server, CompletedDayCache.MISS));
    } finally {
      server.close();
    }
  }

  @Test
  void aFirstAccountTooLargeForTheBoundIsSkippedAndTheSmallerOnesAfterItAreWarm() throws Exception {
    Map<String, Window> w = windows();
    double big = w.get(BIG).bytes();
    double others = w.get(RECENT).bytes() + w.get(OLD).bytes();
    assertTrue(big > others, "the test's data: BIG " + big + " bytes, the others " + others);
    // Room for both smaller accounts, not for the first and largest.
    ActivityServer server = withWarmUpShare((big + others) / 2);
    try {
      awaitWarm(server);
      assertEquals(3, warmed(server, "planned"));
      assertEquals(2, warmed(server, "loaded"));
      assertEquals(1, metric(server, "activity_cache_warmup_accounts_skipped_total"));
      assertEquals(others, metric(server, "activity_cache_warmup_bytes"));
      assertEquals(others, metric(server, "activity_cache_bytes"));
      assertEquals(2 * 30, metric(server, "activity_cache_entries"));
      assertEquals(0, metric(server, "activity_cache_evictions_total{reason=\"size\"}"));
      for (String account : List.of(RECENT, OLD)) {
        assertEquals(
            activity(uncached, account, "").body(), activity(server, account, "").body(), account);
      }
      assertEquals(2, QueryTestEnv.cacheAnswers(server, CompletedDayCache.HIT));
      assertEquals(0, QueryTestEnv.cacheAnswers(server, CompletedDayCache.MISS));
      assertEquals(activity(uncached, BIG, "").body(), activity(server, BIG, "").body());
      assertEquals(1, QueryTestEnv.cacheAnswers(server, CompletedDayCache.MISS));
    } finally {
      server.close();
    }
  }

  @Test
  void theWarmUpStopsOnceLessThanADayFitsWithoutLoadingTheRest() throws Exception {
    Map<String, Window> w = windows();
    Window big = w.get(BIG);
    // Room for the first account and less than any day more.
    ActivityServer server = withWarmUpShare(big.bytes() + DayStore.SMALLEST_DAY - 100);
    try {
      awaitWarm(server);
      assertEquals(1, warmed(server, "loaded"));
      assertEquals(0, metric(server, "activity_cache_warmup_accounts_skipped_total"));
      assertEquals(big.rows(), metric(server, "activity_cache_loaded_rows_total"));
      assertEquals(big.bytes(), metric(server, "activity_cache_bytes"));
    } finally {
      server.close();
    }
  }

  @Test
  void withTheWarmUpOffNothingIsLoadedBeforeTheFirstRequest() throws Exception {
    ActivityServer server = service(endpoint.httpUrl(), Map.of("CACHE_WARMUP", "off"));
    try {
      QueryTestEnv.awaitFreshPoll(server);
      assertEquals(1, metric(server, "activity_cache_warmup_done"));
      assertEquals(0, warmed(server, "planned"));
      assertEquals(0, warmed(server, "loaded"));
      assertEquals(0, metric(server, "activity_cache_entries"));
      assertEquals(200, ready(server));
      assertEquals(activity(uncached, BIG, "").body(), activity(server, BIG, "").body());
      assertEquals(1, QueryTestEnv.cacheAnswers(server, CompletedDayCache.MISS));
    } finally {
      server.close();
    }
  }

  @Test
  void aFailingClickHouseDelaysTheWarmUpWhileTheServiceServesAndItRecovers() throws Exception {
    try (FlakyClickHouseProxy proxy = new FlakyClickHouseProxy(endpoint.httpUrl())) {
      // Polls and the warm-up's order fail from the start: the cache cannot load before its first
      // poll, and the warm-up cannot plan without the order.
      proxy.failPolls();
      proxy.failContaining("last_active");
      ActivityServer waiting = service(proxy.url(), Map.of());
      ActivityServer bounded = service(proxy.url(), Map.of("CACHE_WARMUP_MAX_WAIT_MS", "0"));
      try {
        // Requests are answered by SQL meanwhile, with the same bytes.
        assertEquals(activity(uncached, BIG, "").body(), activity(waiting, BIG, "").body());
        assertEquals(1, QueryTestEnv.cacheAnswers(waiting, CompletedDayCache.BYPASS));
        assertEquals(503, ready(waiting));
        assertEquals(200, ready(bounded));
        assertEquals(0, metric(waiting, "activity_cache_warmup_done"));

        // Polls work again, the order still fails: the warm-up retries it.
        proxy.recover();
        proxy.failContaining("last_active");
        awaitMetric(waiting, "activity_cache_warmup_failures_total", 2);
        assertEquals(0, metric(waiting, "activity_cache_warmup_done"));
        assertEquals(503, ready(waiting));

        proxy.recover();
        awaitWarm(waiting);
        awaitWarm(bounded);
        assertEquals(200, ready(waiting));
        assertEquals(3, warmed(waiting, "loaded"));
        double misses = QueryTestEnv.cacheAnswers(waiting, CompletedDayCache.MISS);
        assertEquals(activity(uncached, RECENT, "").body(), activity(waiting, RECENT, "").body());
        assertEquals(misses, QueryTestEnv.cacheAnswers(waiting, CompletedDayCache.MISS));
        assertEquals(1, QueryTestEnv.cacheAnswers(waiting, CompletedDayCache.HIT));
      } finally {
        QueryTestEnv.close(waiting, bounded);
      }
    }
  }
}
