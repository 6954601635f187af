package io.tallyhouse.bench;

import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.SqlLiteral;
import io.tallyhouse.schemas.contract.Workspaces;
import java.time.LocalDate;
import java.util.Random;

/**
 * The data of {@code make bench-query}: usage events generated inside ClickHouse ({@code INSERT ...
 * SELECT FROM numbers}, so 10 million rows take seconds instead of a trip through Kafka) and {@code
 * usage_daily} filled with exactly their rollup, the way usage-stream would have left it. Every
 * INSERT names its columns, so a column added with a default (for example a {@code shard}) changes
 * nothing here.
 *
 * <p>The shape, all derived from hashes of the event number so a run is reproducible:
 *
 * <ul>
 *   <li>accounts {@code acct-0 .. acct-(n-1)}, log-uniform (Zipf with exponent 1): with 1000
 *       accounts the largest has about 10 % of the events, the median one about 0.03 %;
 *   <li>2-5 api keys per account, the first used most;
 *   <li>12 % of events without a user; the others spread exponentially over users {@code user-0,
 *       user-1, ...} with a mean of {@link #userMean} (about 19 for the largest account, 4 for
 *       small ones);
 *   <li>8 endpoints with real prices, each account mostly on one (its number mod 8) and sometimes
 *       on the next;
 *   <li>{@code days} completed UTC days up to {@code lastDay}, uniform; 1/3 of events with cached
 *       tokens, reasoning tokens on two endpoints, 3 % BYOK;
 *   <li>cost exact: (prompt x input price + completion x output price) / 10^9 as Decimal(38,12),
 *       never a float;
 *   <li>every event in the workspace default (no workspace_id column written: usage_events' default
 *       and usage_daily's '', as the stream stores that workspace);
 *   <li>one usage_daily row per group and shard, the shard a hash of account and event id (as the
 *       events topic's partition is), so a busy group has a row in every shard;
 *   <li>2 % of events are "late" (event id {@code late-*}): the rollup is written without them,
 *       merged, and then the groups they touch are written again with their full totals and a
 *       higher version, as usage-stream does when events arrive for a day that already has rows. So
 *       FINAL has real work to do.
 * </ul>
 */
final class ActivityFixture {

  /** Events per INSERT ... SELECT: bounded memory and a progress line every few seconds. */
  private static final long CHUNK = 1_000_000;

  private static final String EVENTS =
      """
      INSERT INTO usage_events (date, account_id, event_id, api_key_hash, user, model, model_permaslug, provider_name,
        endpoint_id, created_at, created_at_us, prompt_tokens, completion_tokens, reasoning_tokens, cached_tokens, cost,
        is_byok, byok_cost, app, received_at, received_at_us)
      SELECT toDate(created), account, event, key_hash, end_user, ep.1, ep.2, ep.3, concat(ep.3, '/', ep.2),
        created, toUInt64(created) * 1000000 + micros, prompt, completion, reasoning, cached,
        if(byok, price / 20, price), byok, if(byok, price, toDecimal128(0, 12)), concat('https://', account, '.example.com'),
        created + 2, (toUInt64(created) + 2) * 1000000 + micros
      FROM (
        SELECT number,
          least(%2$d, toUInt32(floor(exp(log(%3$d.) * (cityHash64(number, 1) / 18446744073709551616.)))) - 1) AS a,
          concat('acct-', toString(a)) AS account,
          concat(if(cityHash64(number, 2) %% 50 = 0, 'late-', 'gen-'), toString(number)) AS event,
          lower(hex(SHA256(concat('bench-key-', toString(a), '-',
            toString(toUInt32(floor(-log(1 - cityHash64(number, 3) / 18446744073709551617.) * 1.5)) %% (2 + a %% 4))))))
            AS key_hash,
          if(cityHash64(number, 4) %% 100 < 12, CAST(NULL AS Nullable(String)), concat('user-', toString(toUInt32(floor(
            -log(1 - cityHash64(number, 5) / 18446744073709551617.) * (4 + 60 / (a + 4))))))) AS end_user,
          (a + toUInt32(floor(-log(1 - cityHash64(number, 6) / 18446744073709551617.) * 0.6))) %% 8 AS e,
          arrayElement([('openai/gpt-4o', 'openai/gpt-4o-2024-08-06', 'OpenAI', 2500, 10000),
            ('openai/gpt-4o-mini', 'openai/gpt-4o-mini-2024-07-18', 'OpenAI', 150, 600),
            ('anthropic/claude-sonnet-4', 'anthropic/claude-4-sonnet-20250522', 'Anthropic', 3000, 15000),
            ('anthropic/claude-3.5-haiku', 'anthropic/claude-3-5-haiku-20241022', 'Anthropic', 800, 4000),
            ('google/gemini-2.5-flash', 'google/gemini-2.5-flash', 'Google', 300, 2500),
            ('google/gemini-2.5-pro', 'google/gemini-2.5-pro', 'Google', 1250, 10000),
            ('deepseek/deepseek-r1', 'deepseek/deepseek-r1', 'DeepInfra', 700, 2400),
            ('meta-llama/llama-3.3-70b-instruct', 'meta-llama/llama-3.3-70b-instruct', 'Together', 880, 880)], e + 1)
            AS ep,
          toDateTime(%4$s - cityHash64(number, 7) %% %5$d) + cityHash64(number, 8) %% 86400 AS created,
          cityHash64(number, 9) %% 1000000 AS micros,
          50 + cityHash64(number, 10) %% 4000 AS prompt,
          10 + cityHash64(number, 11) %% 1200 AS completion,
          if(e = 5 OR e = 6, intDiv(completion, 3), 0) AS reasoning,
          if(cityHash64(number, 12) %% 3 = 0, intDiv(prompt, 4), 0) AS cached,
          cityHash64(number, 13) %% 100 < 3 AS byok,
          toDecimal128(prompt * ep.4 + completion * ep.5, 12) / 1000000000 AS price
        FROM numbers(%1$s)
      )""";

  /**
   * Sums of the raw events per usage_daily row, one row per group and shard as usage-stream writes
   * them (%1$s is the shard of an event); version = number of events, as the stream counts them.
   */
  private static final String ROLLUP =
      """
      INSERT INTO usage_daily (account_id, date, api_key_hash, user_id, endpoint_id, model, model_permaslug,
        provider_name, shard, requests, prompt_tokens, completion_tokens, reasoning_tokens, cached_tokens, usage,
        byok_usage_inference, byok_requests, version, updated_at)
      SELECT account_id, date, api_key_hash, ifNull(user, ''), endpoint_id, model, model_permaslug, provider_name,
        %1$s, count(), sum(prompt_tokens), sum(completion_tokens), sum(reasoning_tokens), sum(cached_tokens),
        sum(cost), sum(byok_cost), sum(is_byok), count(), now()
      FROM usage_events
      WHERE %2$s
      GROUP BY account_id, date, api_key_hash, ifNull(user, ''), endpoint_id, model, model_permaslug, provider_name,
        %1$s""";

  private ActivityFixture() {}

  /**
   * Generates {@code events} events over {@code accounts} accounts and the {@code days} days up to
   * {@code lastDay}, and their rollup over {@code shards} shards: gateway-ingest keys events by
   * account and event id, so the events of one group spread over the partitions of the events
   * topic, and usage-stream writes a row per group and partition (the shard).
   */
  static void load(
      ClickHouse clickHouse, long events, int accounts, int days, LocalDate lastDay, int shards) {
    String shard = "toUInt16(cityHash64(account_id, event_id) % " + shards + ")";
    for (long first = 0; first < events; first += CHUNK) {
      long count = Math.min(CHUNK, events - first);
      clickHouse.execute(
          EVENTS.formatted(
              first + ", " + count, accounts - 1, accounts + 1, SqlLiteral.date(lastDay), days));
      BenchSupport.log(String.format("  %,d of %,d events", first + count, events));
    }
    // One day at a time keeps the GROUP BY small; the late events are left out of this first
    // version.
    for (int d = 0; d < days; d++) {
      clickHouse.execute(
          ROLLUP.formatted(
              shard,
              "date = "
                  + SqlLiteral.date(lastDay.minusDays(d))
                  + " AND event_id NOT LIKE 'late-%'"));
    }
    clickHouse.execute("OPTIMIZE TABLE usage_daily FINAL");
    // The (group, shard) rows the late events touch, again with full totals: a higher version in a
    // new part.
    String rowKey =
        "(account_id, date, api_key_hash, ifNull(user, ''), endpoint_id, " + shard + ")";
    clickHouse.execute(
        ROLLUP.formatted(
            shard,
            rowKey
                + " IN (SELECT "
                + rowKey.substring(1, rowKey.length() - 1)
                + " FROM usage_events WHERE event_id LIKE 'late-%')"));
    clickHouse.execute(
        "INSERT INTO api_key_hashes (account_id, api_key_hash)"
            + " SELECT DISTINCT account_id, api_key_hash FROM usage_events");
    // Every event is in the workspace default (usage_events' column default; usage_daily's '').
    clickHouse.execute(
        "INSERT INTO workspaces (account_id, workspace_id) SELECT DISTINCT account_id, "
            + SqlLiteral.string(Workspaces.DEFAULT)
            + " FROM usage_events");
  }

  /** An account drawn like the events' accounts (the same log-uniform law). */
  static int account(Random random, int accounts) {
    return Math.min(
        accounts - 1,
        (int) Math.floor(Math.exp(Math.log(accounts + 1.0) * random.nextDouble())) - 1);
  }

  /**
   * A user of {@code account} drawn like the events' users (rarely one without rows: an empty
   * answer).
   */
  static String user(Random random, int account) {
    return "user-" + (int) Math.floor(-Math.log(1 - random.nextDouble()) * userMean(account));
  }

  /**
   * The mean of the exponential law of user numbers: more users for the larger (lower-numbered)
   * accounts.
   */
  static double userMean(int account) {
    return 4 + 60.0 / (account + 4);
  }

  static String accountId(int account) {
    return "acct-" + account;
  }
}
