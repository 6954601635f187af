package io.tallyhouse.bench;

import static io.tallyhouse.bench.BenchSupport.log;

import io.tallyhouse.common.auth.CredentialKind;
import io.tallyhouse.common.auth.CredentialStore;
import io.tallyhouse.common.auth.Secrets;
import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.SqlLiteral;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * {@link QueryBench}'s loading phase: the events and their rollup generated inside ClickHouse
 * ({@link ActivityFixture}), counted, with merges stopped; and a management key per account.
 */
final class QueryData {

  /**
   * What the loading phase left in ClickHouse.
   *
   * @param rawEvents {@code count()} of usage_events
   * @param rollupRows {@code count()} of usage_daily FINAL
   * @param windowRows the rows the service's cache holds when every account is warm: the window's
   *     usage_daily FINAL rows summed over shards
   */
  record Loaded(long rawEvents, long rollupRows, long windowRows) {}

  private QueryData() {}

  /**
   * Generates {@code events} events of {@code accounts} accounts over {@code days} days up to
   * yesterday of {@code today}, then stops usage_daily's merges.
   */
  static Loaded load(
      ClickHouse clickHouse, long events, int accounts, int days, LocalDate today, int shards) {
    log(
        String.format(
            "generating %,d events of %d accounts over %d days in ClickHouse",
            events, accounts, days));
    long loadStart = System.nanoTime();
    ActivityFixture.load(clickHouse, events, accounts, days, today.minusDays(1), shards);
    long rawEvents = count(clickHouse, "SELECT count() AS n FROM usage_events");
    long rollupRows = count(clickHouse, "SELECT count() AS n FROM usage_daily FINAL");
    // What the service's cache holds when every account is warm: the window's rows summed over
    // shards.
    long windowRows =
        count(
            clickHouse,
            "SELECT count() AS n FROM (SELECT 1 FROM usage_daily FINAL"
                + " WHERE date >= "
                + SqlLiteral.date(today.minusDays(30))
                + " AND date <= "
                + SqlLiteral.date(today.minusDays(1))
                + " GROUP BY account_id, date, api_key_hash, user_id, endpoint_id, model, model_permaslug, provider_name)");
    log(
        String.format(
            "  %,d raw events, %,d rollup rows in %.0f s",
            rawEvents, rollupRows, (System.nanoTime() - loadStart) / 1e9));
    // Both phases must read the same parts: no merge may fold the late versions in between.
    clickHouse.execute("SYSTEM STOP MERGES usage_daily");
    return new Loaded(rawEvents, rollupRows, windowRows);
  }

  /**
   * A new key file {@code file} with one management key per account; returns each account's secret
   * by its number.
   */
  static Map<Integer, String> managementKeys(Path file, int accounts) {
    CredentialStore keys = new CredentialStore(file);
    Map<Integer, String> secrets = new HashMap<>();
    for (int a = 0; a < accounts; a++) {
      String secret = Secrets.generate(CredentialKind.MANAGEMENT.secretPrefix());
      keys.add(secret, CredentialKind.MANAGEMENT, ActivityFixture.accountId(a), List.of(), "bench");
      secrets.put(a, secret);
    }
    return secrets;
  }

  private static long count(ClickHouse clickHouse, String sql) {
    return clickHouse.query(sql).get(0).get("n").asLong();
  }
}
