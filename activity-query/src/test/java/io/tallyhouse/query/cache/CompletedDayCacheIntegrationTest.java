package io.tallyhouse.query.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.tallyhouse.common.auth.CredentialKind;
import io.tallyhouse.common.auth.CredentialStore;
import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.ClickHouseConfig;
import io.tallyhouse.common.clickhouse.Migrations;
import io.tallyhouse.query.ActivityServer;
import io.tallyhouse.query.FlakyClickHouseProxy;
import io.tallyhouse.query.QueryTestEnv;
import io.tallyhouse.query.activity.ActivityItem;
import io.tallyhouse.query.activity.ActivityRepository;
import io.tallyhouse.query.activity.ActivityRequest;
import io.tallyhouse.query.json.JsonBytes;
import io.tallyhouse.schemas.contract.Workspaces;
import io.tallyhouse.testkit.ClickHouseEndpoint;
import io.tallyhouse.testkit.Infra;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The cache of completed days against a real ClickHouse (own database): its answers equal the SQL
 * path's for every filter and grouping, writes reach it through the change markers (also when a
 * write races a load), the memory bound holds, and a failing poll hands the answers back to
 * ClickHouse.
 */
class CompletedDayCacheIntegrationTest {

  private static final Instant NOW = Instant.parse("2026-11-22T10:00:00Z");
  private static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);
  private static final LocalDate TODAY = LocalDate.of(2026, 11, 22);
  private static final LocalDate D1 = TODAY.minusDays(1);
  private static final LocalDate D30 = TODAY.minusDays(30);

  /** Acme has no rows on this day; beta has. */
  private static final LocalDate QUIET = TODAY.minusDays(15);

  private static final String K1 = "a1".repeat(32);
  private static final String K2 = "b2".repeat(32);

  /** Beta's own key. */
  private static final String K3 = "c3".repeat(32);

  private static final Map<String, List<String>> KEYS =
      Map.of("acme", List.of(K1, K2), "beta", List.of(K1, K3));
  private static final String HOSTILE_USER = "ü'ser \\ 1";

  /** Workspaces as usage_daily stores them ('' is the default one), as the stream writes them. */
  private static final List<String> STORED_WORKSPACES =
      List.of(Workspaces.STORED_DEFAULT, "ws-1", "a:b.c_d-e");

  private static final List<String> USERS = List.of("", "u1", "u2", "u3", HOSTILE_USER);
  private static final List<String[]> ENDPOINTS =
      List.of(
          new String[] {
            "OpenAI/openai/gpt-4o", "openai/gpt-4o", "openai/gpt-4o-2024-08-06", "OpenAI"
          },
          new String[] {
            "Azure/openai/gpt-4o", "openai/gpt-4o", "openai/gpt-4o-2024-08-06", "Azure"
          },
          new String[] {
            "Anthropic/anthropic/claude", "anthropic/claude", "anthropic/claude-4", "Anthropic"
          },
          new String[] {"X/z", "x/z", "x/z", "X"});

  private static final HttpClient HTTP =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  private static ClickHouseEndpoint endpoint;
  private static String database;
  private static ClickHouse clickHouse;

  @BeforeAll
  static void start() {
    endpoint = Infra.clickhouse();
    database = QueryTestEnv.newDatabase("aqc");
    clickHouse =
        new ClickHouse(
            new ClickHouseConfig(
                endpoint.httpUrl(), endpoint.user(), endpoint.password(), database));
    Migrations.apply(clickHouse);
    insertDataset(new Random(7));
  }

  @AfterAll
  static void stop() {
    QueryTestEnv.dropDatabase(clickHouse, database);
  }

  // ---- data
  // ---------------------------------------------------------------------------------------------------

  /**
   * Acme and beta over 32 days (today and the day before the window included), two of them large:
   * every workspace, key, user and endpoint mix, three shards, counts beyond 2^63 now and then, an
   * amount too large for a long once, and several versions of some rows in separate parts (FINAL
   * keeps the highest).
   */
  private static void insertDataset(Random random) {
    List<String> current = new ArrayList<>();
    List<String> older = new ArrayList<>();
    List<String> newer = new ArrayList<>();
    for (String account : KEYS.keySet()) {
      for (int d = 0; d <= 31; d++) {
        LocalDate date = TODAY.minusDays(d);
        if (account.equals("acme") && date.equals(QUIET)) {
          continue;
        }
        Map<String, String> rows = new LinkedHashMap<>();
        // D1 and D30 are large days (more rows than CachedDay.MEMO_MIN_ROWS after summing shards,
        // so their answers are
        // memoized): 30 more users.
        boolean large = date.equals(D1) || date.equals(D30);
        for (int i = 0; i < (large ? 400 : 40); i++) {
          String key = KEYS.get(account).get(random.nextInt(2));
          String user =
              large && random.nextBoolean()
                  ? "v" + random.nextInt(30)
                  : USERS.get(random.nextInt(USERS.size()));
          String[] ep = ENDPOINTS.get(random.nextInt(ENDPOINTS.size()));
          int shard = random.nextInt(3);
          String ws = STORED_WORKSPACES.get(random.nextInt(STORED_WORKSPACES.size()));
          String group = ws + "/" + key + user + ep[0] + shard;
          rows.put(group, row(account, date, ws, key, user, ep, shard, random, 2));
          if (random.nextInt(5) == 0) {
            older.add(row(account, date, ws, key, user, ep, shard, random, 1));
          }
          if (random.nextInt(7) == 0) {
            rows.remove(group);
            newer.add(row(account, date, ws, key, user, ep, shard, random, 3));
            current.add(row(account, date, ws, key, user, ep, shard, random, 2));
          }
        }
        current.addAll(rows.values());
      }
    }
    current.add(
        row(
            "acme",
            D1.minusDays(2),
            K1,
            "u1",
            ENDPOINTS.get(0),
            0,
            "12345678901.123456789012",
            13,
            2));
    insert(current);
    insert(older);
    insert(newer);
  }

  private static String row(
      String account,
      LocalDate date,
      String storedWorkspace,
      String key,
      String user,
      String[] ep,
      int shard,
      Random random,
      long version) {
    String usage =
        random.nextInt(1000)
            + "."
            + String.format("%012d", Math.abs(random.nextLong()) % 1_000_000_000_000L);
    long requests =
        random.nextInt(20) == 0 ? Long.MAX_VALUE - random.nextInt(1000) : 1 + random.nextInt(50);
    return row(account, date, storedWorkspace, key, user, ep, shard, usage, requests, version);
  }

  /** A row of the default workspace that does not name its workspace, as rows before 006 read. */
  private static String row(
      String account,
      LocalDate date,
      String key,
      String user,
      String[] ep,
      int shard,
      String usage,
      long requests,
      long version) {
    return row(account, date, null, key, user, ep, shard, usage, requests, version);
  }

  private static String row(
      String account,
      LocalDate date,
      String storedWorkspace,
      String key,
      String user,
      String[] ep,
      int shard,
      String usage,
      long requests,
      long version) {
    return "{\"account_id\":\""
        + account
        + (storedWorkspace == null ? "" : "\",\"workspace_id\":\"" + storedWorkspace)
        + "\",\"date\":\""
        + date
        + "\",\"api_key_hash\":\""
        + key
        + "\",\"user_id\":\""
        + user.replace("\\", "\\\\")
        + "\",\"endpoint_id\":\""
        + ep[0]
        + "\",\"model\":\""
        + ep[1]
        + "\",\"model_permaslug\":\""
        + ep[2]
        + "\",\"provider_name\":\""
        + ep[3]
        + "\",\"shard\":"
        + shard
        + ",\"requests\":"
        + requests
        + ",\"prompt_tokens\":"
        + requests * 3
        + ",\"completion_tokens\":"
        + (version + 7)
        + ",\"reasoning_tokens\":"
        + shard
        + ",\"cached_tokens\":"
        + requests % 5
        + ",\"usage\":"
        + usage
        + ",\"byok_usage_inference\":"
        + (shard == 1 ? usage : "0")
        + ",\"byok_requests\":"
        + (shard == 1 ? 1 : 0)
        + ",\"version\":"
        + version
        + ",\"updated_at\":\"2026-11-22 00:00:00\"}";
  }

  private static void insert(List<String> rows) {
    if (!rows.isEmpty()) {
      clickHouse.insertJsonEachRow(
          "usage_daily", (String.join("\n", rows) + "\n").getBytes(StandardCharsets.UTF_8));
    }
  }

  /**
   * One late row of {@code account} on {@code date}, on an endpoint of its own so it shows as an
   * item of its own.
   */
  private static void insertLate(String account, LocalDate date, String usage) {
    insert(
        List.of(
            row(
                account,
                date,
                K1,
                "u1",
                new String[] {"Late/late", "late", "late", "Late"},
                0,
                usage,
                1,
                1)));
  }

  // ---- helpers
  // ------------------------------------------------------------------------------------------------

  private static ActivityRequest request(String date, String key, String user, String groupBy) {
    return request(date, null, key, user, groupBy);
  }

  private static ActivityRequest request(
      String date, String workspace, String key, String user, String groupBy) {
    Map<String, List<String>> params = new HashMap<>();
    for (String[] param :
        new String[][] {
          {"date", date},
          {"workspace_id", workspace},
          {"api_key_hash", key},
          {"user_id", user},
          {"group_by", groupBy}
        }) {
      if (param[1] != null) {
        params.put(param[0], List.of(param[1]));
      }
    }
    return ActivityRequest.parse(params, TODAY);
  }

  /**
   * The SQL path's items with amounts at scale 12 (current ClickHouse prints fewer digits than
   * 18.16).
   */
  private static List<ActivityItem> sql(
      ActivityRepository repository, String account, ActivityRequest request) {
    return repository.activity(account, request).stream()
        .map(
            i ->
                new ActivityItem(
                    i.date(),
                    i.model(),
                    i.modelPermaslug(),
                    i.endpointId(),
                    i.providerName(),
                    i.workspaceId(),
                    i.userId(),
                    i.apiKeyHash(),
                    i.usage().setScale(12),
                    i.byokUsageInference().setScale(12),
                    i.requests(),
                    i.promptTokens(),
                    i.completionTokens(),
                    i.reasoningTokens(),
                    i.cachedTokens(),
                    i.byokRequests()))
        .toList();
  }

  private static String json(CompletedDayCache cache, String account, ActivityRequest request) {
    JsonBytes out = new JsonBytes();
    cache.activityJson(account, request, out, Integer.MAX_VALUE);
    return out.toString();
  }

  private static double answers(MeterRegistry metrics, String result) {
    return metrics.get("activity_cache_answers").tag("result", result).timer().count();
  }

  private static double count(MeterRegistry metrics, String counter) {
    return metrics.get(counter).counters().stream().mapToDouble(c -> c.count()).sum();
  }

  private static CompletedDayCache cache(MeterRegistry metrics, long maxBytes) {
    return cache(metrics, maxBytes, new CompletedDayRepository(clickHouse, metrics));
  }

  private static CompletedDayCache cache(
      MeterRegistry metrics, long maxBytes, CompletedDaySource source) {
    // Polls only when a test says so: an hour between polls and no poller thread.
    return new CompletedDayCache(
        new ActivityRepository(clickHouse, metrics),
        source,
        CLOCK,
        maxBytes,
        Duration.ofHours(1),
        metrics);
  }

  /**
   * The real source, running an action between the cache's marker read and its row query of every
   * load.
   */
  private static final class RacingSource implements CompletedDaySource {
    private final CompletedDaySource real;
    private volatile Runnable beforeLoad = () -> {};

    RacingSource(CompletedDaySource real) {
      this.real = real;
    }

    void beforeLoad(Runnable action) {
      beforeLoad = action == null ? () -> {} : action;
    }

    @Override
    public DayLoad completedDays(String account, Collection<LocalDate> days) {
      beforeLoad.run();
      return real.completedDays(account, days);
    }

    @Override
    public Map<String, long[]> changeMarkers(LocalDate from, LocalDate to) {
      return real.changeMarkers(from, to);
    }

    @Override
    public long changeMarkerTotal(LocalDate from, LocalDate to) {
      return real.changeMarkerTotal(from, to);
    }
  }

  // ---- same answers
  // -------------------------------------------------------------------------------------------

  /**
   * Workspace filter (as the API names it; null: none) and group_by pairs: every grouping without
   * the workspace, then the workspace grouping and filter alone and combined with the others (for
   * the whole window and a large day, all keys and one, all users and the hostile one).
   */
  private static final List<String[]> WORKSPACE_AND_GROUPING =
      List.of(
          new String[] {null, null},
          new String[] {null, "user"},
          new String[] {null, "api_key"},
          new String[] {null, "user,api_key"},
          new String[] {null, "api_key,user"},
          new String[] {null, "workspace"},
          new String[] {null, "workspace,user"},
          new String[] {null, "api_key,workspace"},
          new String[] {null, "user,api_key,workspace"},
          new String[] {Workspaces.DEFAULT, null},
          new String[] {Workspaces.DEFAULT, "workspace,api_key"},
          new String[] {"ws-1", "user"},
          new String[] {"a:b.c_d-e", "workspace"});

  @Test
  void cachedAnswersEqualTheSqlAnswersForEveryFilterAndGrouping() {
    MeterRegistry metrics = new SimpleMeterRegistry();
    ActivityRepository repository = new ActivityRepository(clickHouse, metrics);
    int compared = 0;
    int nonEmpty = 0;
    try (CompletedDayCache cache = cache(metrics, 1L << 30)) {
      cache.poll();
      for (String account : List.of("acme", "beta")) {
        for (String date :
            Arrays.asList(null, D1.toString(), D30.toString(), QUIET.toString(), "2026-11-03")) {
          for (String key : Arrays.asList(null, K1, K2, K3)) {
            for (String user : Arrays.asList(null, "u1", HOSTILE_USER, "nobody")) {
              for (String[] workspaceAndGrouping : WORKSPACE_AND_GROUPING) {
                boolean workspaces =
                    workspaceAndGrouping[0] != null
                        || workspaceAndGrouping[1] != null
                            && workspaceAndGrouping[1].contains("workspace");
                if (workspaces
                    && !(Arrays.asList(null, D1.toString()).contains(date)
                        && Arrays.asList(null, K1).contains(key)
                        && Arrays.asList(null, HOSTILE_USER).contains(user))) {
                  continue; // the workspace cases on a part of the grid, to bound the test's time
                }
                ActivityRequest request =
                    request(date, workspaceAndGrouping[0], key, user, workspaceAndGrouping[1]);
                List<ActivityItem> expected = sql(repository, account, request);
                assertEquals(expected, cache.activity(account, request), account + " " + request);
                double beforeMemo = bytes(metrics);
                String json = ActivityItem.jsonObjects(expected, request.grouping());
                assertEquals(
                    json, json(cache, account, request), "written " + account + " " + request);
                if (compared == 0) {
                  assertTrue(bytes(metrics) > beforeMemo, "memos count against the bound");
                }
                assertEquals(
                    json, json(cache, account, request), "memoized " + account + " " + request);
                compared++;
                nonEmpty += expected.isEmpty() ? 0 : 1;
              }
            }
          }
        }
      }
    }
    assertTrue(
        nonEmpty > compared / 3,
        "the data exercises the comparisons: " + nonEmpty + " of " + compared);
    for (String account : List.of("acme", "beta")) {
      long groups =
          clickHouse
              .query(
                  "SELECT count() AS n FROM (SELECT 1 FROM usage_daily FINAL WHERE account_id = '"
                      + account
                      + "' AND date = '"
                      + D1
                      + "' GROUP BY api_key_hash, user_id, endpoint_id)")
              .get(0)
              .get("n")
              .asLong();
      assertTrue(groups >= CachedDay.MEMO_MIN_ROWS, "D1 is large enough for memos: " + groups);
    }
    assertEquals(2, answers(metrics, CompletedDayCache.MISS), "one load per account");
    assertEquals(3 * compared - 2, answers(metrics, CompletedDayCache.HIT));
    assertEquals(0, answers(metrics, CompletedDayCache.BYPASS));
  }

  @Test
  void nothingIsServedFromMemoryBeforeTheFirstPoll() {
    MeterRegistry metrics = new SimpleMeterRegistry();
    try (CompletedDayCache cache = cache(metrics, 1L << 30)) {
      ActivityRequest all = request(null, null, null, null);
      assertEquals(
          sql(new ActivityRepository(clickHouse), "beta", all), cache.activity("beta", all));
      assertEquals(1, answers(metrics, CompletedDayCache.BYPASS));
      assertEquals(
          1,
          metrics.get(ActivityRepository.QUERY_TIMER).tag("query", "activity").timer().count(),
          "the SQL path answered, timed as before");
      assertEquals(
          0,
          count(metrics, "activity_cache_loaded_rows"),
          "no load without markers to store it under");
    }
  }

  @Test
  void theLeastRecentlyUsedDaysGoWhenTheBoundIsReached() {
    MeterRegistry metrics = new SimpleMeterRegistry();
    ActivityRepository repository = new ActivityRepository(clickHouse, metrics);
    ActivityRequest all = request(null, null, null, "user");
    long acme = bytesOfWindow("acme", all);
    long beta = bytesOfWindow("beta", all);
    long bound =
        Math.max(acme, beta) + Math.min(acme, beta) / 2; // either account's window, not both
    try (CompletedDayCache cache = cache(metrics, bound)) {
      cache.poll();
      for (String account : List.of("acme", "beta", "acme", "beta")) {
        assertEquals(sql(repository, account, all), cache.activity(account, all), account);
        assertEquals(
            ActivityItem.jsonObjects(sql(repository, account, all), all.grouping()),
            json(cache, account, all));
        assertTrue(bytes(metrics) <= bound, "the weight stays within the bound");
      }
      assertTrue(count(metrics, "activity_cache_evictions") > 0, "days were evicted");
      assertTrue(
          metrics.get("activity_cache_entries").gauge().value() > 0, "and the latest ones kept");
    }
  }

  private static double bytes(MeterRegistry metrics) {
    return metrics.get("activity_cache_bytes").gauge().value();
  }

  /**
   * The estimated bytes of {@code account}'s window in a cache of its own, after answering {@code
   * request}.
   */
  private static long bytesOfWindow(String account, ActivityRequest request) {
    MeterRegistry metrics = new SimpleMeterRegistry();
    try (CompletedDayCache cache = cache(metrics, 1L << 40)) {
      cache.poll();
      json(cache, account, request);
      return (long) bytes(metrics);
    }
  }

  @Test
  void longUserIdsWeighTheirRealBytesAndAreEvictedByThem() {
    // Two accounts with the same rows but for their user ids: 3 days of 300 users, 8 or 256
    // characters each.
    List<String> rows = new ArrayList<>();
    for (int d = 1; d <= 3; d++) {
      for (int u = 0; u < 300; u++) {
        for (String account : List.of("short-ids", "long-ids")) {
          String user =
              account.equals("short-ids") ? String.format("u%07d", u) : String.format("%0256d", u);
          rows.add(
              row(account, TODAY.minusDays(d), K1, user, ENDPOINTS.get(u % 4), 0, "1.5", 2, 1));
        }
      }
    }
    insert(rows);
    ActivityRequest byUser = request(null, null, null, "user");
    long shortIds = bytesOfWindow("short-ids", byUser);
    long longIds = bytesOfWindow("long-ids", byUser);
    // 900 ids of 248 characters more, each held as a String and as its JSON text: at least 2 bytes
    // a character more.
    assertTrue(longIds - shortIds >= 900L * 2 * 248, shortIds + " vs " + longIds);

    MeterRegistry metrics = new SimpleMeterRegistry();
    ActivityRepository repository = new ActivityRepository(clickHouse, metrics);
    long bound =
        shortIds * 2; // the short ids' window twice over, yet less than the long ids' window
    assertTrue(bound < longIds, shortIds + " vs " + longIds);
    try (CompletedDayCache cache = cache(metrics, bound)) {
      cache.poll();
      assertEquals(sql(repository, "short-ids", byUser), cache.activity("short-ids", byUser));
      assertEquals(0, count(metrics, "activity_cache_evictions"), "the short ids fit");
      for (int i = 0; i < 3; i++) {
        assertEquals(sql(repository, "long-ids", byUser), cache.activity("long-ids", byUser));
        assertEquals(
            ActivityItem.jsonObjects(sql(repository, "long-ids", byUser), byUser.grouping()),
            json(cache, "long-ids", byUser));
        assertTrue(bytes(metrics) <= bound, "the bound holds: " + bytes(metrics) + " of " + bound);
      }
      assertTrue(
          count(metrics, "activity_cache_evictions") > 0, "the long ids' days did not all fit");
    }
  }

  // ---- writes reach the cache
  // ----------------------------------------------------------------------------------

  @Test
  void aWriteBetweenReadingTheMarkersAndTheRowsIsAnsweredAndDropsTheDayAtTheNextPoll() {
    MeterRegistry metrics = new SimpleMeterRegistry();
    ActivityRepository repository = new ActivityRepository(clickHouse, metrics);
    RacingSource source = new RacingSource(new CompletedDayRepository(clickHouse, metrics));
    try (CompletedDayCache cache = cache(metrics, 1L << 30, source)) {
      cache.poll();
      ActivityRequest all = request(null, null, null, null);
      source.beforeLoad(() -> insertLate("race", D1, "0.5"));
      List<ActivityItem> raced = cache.activity("race", all);
      source.beforeLoad(null);
      assertEquals(sql(repository, "race", all), raced, "the load read the row written in between");
      assertEquals(1, raced.size());
      assertEquals(1, answers(metrics, CompletedDayCache.MISS));

      // The day is stored under the marker read before the write, so the next poll sees the write's
      // marker and
      // drops it: a later write in the same gap could otherwise never be noticed.
      cache.poll();
      assertEquals(1, count(metrics, "activity_cache_invalidations"));
      assertEquals(sql(repository, "race", all), cache.activity("race", all));
      assertEquals(
          2, answers(metrics, CompletedDayCache.MISS), "reloaded after the poll dropped it");
      cache.poll();
      assertEquals(
          1, count(metrics, "activity_cache_invalidations"), "nothing moved since the reload");
      cache.activity("race", all);
      assertEquals(1, answers(metrics, CompletedDayCache.HIT));
    }
  }

  @Test
  void aLoadRacedByAWriteAndAPollIsAnsweredButNotKept() {
    MeterRegistry metrics = new SimpleMeterRegistry();
    ActivityRepository repository = new ActivityRepository(clickHouse, metrics);
    RacingSource source = new RacingSource(new CompletedDayRepository(clickHouse, metrics));
    try (CompletedDayCache cache = cache(metrics, 1L << 30, source)) {
      cache.poll();
      ActivityRequest all = request(null, null, null, null);
      source.beforeLoad(
          () -> {
            insertLate("race2", D1, "0.25");
            cache
                .poll(); // a poll between the write and the end of the load already knows the newer
            // marker
          });
      List<ActivityItem> raced = cache.activity("race2", all);
      source.beforeLoad(null);
      assertEquals(
          sql(repository, "race2", all), raced, "the load read the row written in between");
      assertEquals(1, raced.size());
      assertEquals(
          29,
          metrics.get("activity_cache_entries").gauge().value(),
          "of the 30 days loaded, the one the write reached is not kept");
      assertEquals(sql(repository, "race2", all), cache.activity("race2", all));
      assertEquals(
          2,
          answers(metrics, CompletedDayCache.MISS),
          "that day was loaded again without another poll");
      assertEquals(30, metrics.get("activity_cache_entries").gauge().value());
      cache.activity("race2", all);
      assertEquals(1, answers(metrics, CompletedDayCache.HIT));
    }
  }

  // ---- through the service
  // ------------------------------------------------------------------------------------

  private static String get(ActivityServer server, String key, String query) throws Exception {
    HttpResponse<String> response =
        HTTP.send(
            HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + server.port() + "/api/v1/activity" + query))
                .header("Authorization", "Bearer " + key)
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(200, response.statusCode(), response.body());
    return response.body();
  }

  /**
   * GETs {@code query} until the body satisfies {@code done}; fails after a minute (a hang guard,
   * not a timing check).
   */
  private static String awaitAnswer(
      ActivityServer server, String key, String query, Predicate<String> done) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
    while (true) {
      String body = get(server, key, query);
      if (done.test(body)) {
        return body;
      }
      assertTrue(System.nanoTime() < deadline, "no such answer within a minute: " + body);
      Thread.sleep(20);
    }
  }

  @Test
  void aLateInsertForACachedDayShowsUpAndATodaysInsertEvictsNothing() throws Exception {
    CredentialStore keys = QueryTestEnv.newKeyStore("cache-late");
    String key = QueryTestEnv.newKey(keys, CredentialKind.MANAGEMENT, "beta");
    try (ActivityServer server =
        ActivityServer.start(
            QueryTestEnv.config(QueryTestEnv.of(endpoint, database, keys.file())), CLOCK)) {
      QueryTestEnv.awaitFreshPoll(server);
      String before = get(server, key, "");
      assertEquals(before, get(server, key, ""));
      double hits = QueryTestEnv.cacheAnswers(server, CompletedDayCache.HIT);
      assertTrue(hits >= 1, "the second answer came from memory");
      String invalidations = "activity_cache_invalidations_total";

      insertLate("beta", TODAY, "0.75");
      QueryTestEnv.awaitFreshPoll(server);
      assertEquals(
          0,
          QueryTestEnv.metric(server, invalidations),
          "today is not cached, so its write drops nothing");
      assertEquals(before, get(server, key, ""));
      assertEquals(hits + 1, QueryTestEnv.cacheAnswers(server, CompletedDayCache.HIT));

      insertLate("beta", D1.minusDays(3), "0.000000000007");
      String after =
          awaitAnswer(server, key, "", body -> body.contains("\"endpoint_id\":\"Late/late\""));
      assertTrue(after.contains("\"date\":\"" + D1.minusDays(3) + "\",\"model\":\"late\""), after);
      assertTrue(after.contains("\"usage\":0.000000000007"), after);
      assertEquals(
          1, QueryTestEnv.metric(server, invalidations), "exactly the written day was dropped");
    }
  }

  @Test
  void whilePollingFailsTheAnswersComeFromClickHouseAndTheCacheResumesAfter() throws Exception {
    CredentialStore keys = QueryTestEnv.newKeyStore("cache-poll-failure");
    String key = QueryTestEnv.newKey(keys, CredentialKind.MANAGEMENT, "acme");
    try (FlakyClickHouseProxy proxy = new FlakyClickHouseProxy(endpoint.httpUrl())) {
      Map<String, String> env = QueryTestEnv.of(proxy.url(), endpoint, database, keys.file());
      env.put("CACHE_POLL_INTERVAL_MS", "500");
      try (ActivityServer server = ActivityServer.start(QueryTestEnv.config(env), CLOCK)) {
        String query = "?date=" + D30;
        QueryTestEnv.awaitFreshPoll(server);
        String before = get(server, key, query);
        assertEquals(before, get(server, key, query));
        assertTrue(
            QueryTestEnv.cacheAnswers(server, CompletedDayCache.HIT) >= 1, "served from memory");

        proxy.failPolls();
        double bypassed = QueryTestEnv.cacheAnswers(server, CompletedDayCache.BYPASS);
        insertLate("acme", D30, "0.125");
        // No poll can drop the cached day now: only ClickHouse can give this answer.
        String fallback = awaitAnswer(server, key, query, body -> body.contains("Late/late"));
        assertFalse(server.cache().serving());
        assertTrue(QueryTestEnv.cacheAnswers(server, CompletedDayCache.BYPASS) > bypassed);
        assertTrue(QueryTestEnv.metric(server, "activity_cache_poll_failures_total") > 0);

        proxy.recover();
        QueryTestEnv.awaitFreshPoll(server);
        double misses = QueryTestEnv.cacheAnswers(server, CompletedDayCache.MISS);
        assertEquals(
            fallback,
            get(server, key, query),
            "the first poll dropped the stale day; it was reloaded");
        assertEquals(misses + 1, QueryTestEnv.cacheAnswers(server, CompletedDayCache.MISS));
      }
    }
  }
}
