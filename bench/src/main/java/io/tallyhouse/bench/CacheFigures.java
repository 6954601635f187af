package io.tallyhouse.bench;

import static io.tallyhouse.bench.BenchSupport.round1;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@link QueryBench}'s figures of the service's cache, from its own metrics ({@link
 * ActivityClient#scrape}) read before and after the measured phase through the API.
 */
final class CacheFigures {

  private CacheFigures() {}

  /**
   * The cache's figures of the measured phase, from the service's own counters before and after it:
   * the share of answers given from memory, how many requests had to load, and the p99 of those and
   * of the hits, as the service timed them (the upper edge of the histogram bucket holding it; null
   * without any).
   */
  static void put(ObjectNode result, Map<String, Double> before, Map<String, Double> after) {
    Map<String, Double> answers = new HashMap<>();
    for (String kind : List.of("hit", "miss", "bypass")) {
      String series = ActivityClient.CACHE_ANSWERS + "_count{result=\"" + kind + "\"}";
      answers.put(kind, after.getOrDefault(series, 0.0) - before.getOrDefault(series, 0.0));
    }
    double total = answers.values().stream().mapToDouble(Double::doubleValue).sum();
    result.put(
        "cache_hit_ratio",
        total == 0
            ? null
            : BigDecimal.valueOf(answers.get("hit") / total).setScale(4, RoundingMode.HALF_UP));
    result.put("cache_misses", Math.round(answers.get("miss")));
    result.put("cache_bypasses", Math.round(answers.get("bypass")));
    Double p99 = p99Millis("miss", before, after);
    result.put("cache_miss_p99_ms", p99 == null ? null : round1(p99));
    Double p99All = p99Millis("miss", Map.of(), after);
    result.put("cache_miss_p99_ms_whole_run", p99All == null ? null : round1(p99All));
    Double hitP99 = p99Millis("hit", before, after);
    result.put("cache_hit_p99_ms_in_service", hitP99 == null ? null : round1(hitP99));
    result.put(
        "cache_misses_whole_run",
        Math.round(
            after.getOrDefault(ActivityClient.CACHE_ANSWERS + "_count{result=\"miss\"}", 0.0)));
    result.put("cache_bytes_at_end", Math.round(after.getOrDefault("activity_cache_bytes", 0.0)));
    result.put("cache_days_at_end", Math.round(after.getOrDefault("activity_cache_entries", 0.0)));
    result.put(
        "cache_evictions_for_size",
        Math.round(after.getOrDefault("activity_cache_evictions_total{reason=\"size\"}", 0.0)));
  }

  /**
   * The p99 of the service's own time for answers with {@code result} (upper edge of its bucket);
   * null without any.
   */
  private static Double p99Millis(
      String result, Map<String, Double> before, Map<String, Double> after) {
    TreeMap<Double, Double> buckets = new TreeMap<>();
    after.forEach(
        (series, count) -> {
          if (series.startsWith(ActivityClient.CACHE_ANSWERS + "_bucket{")
              && series.contains("result=\"" + result + "\"")) {
            int le = series.indexOf("le=\"") + 4;
            String bound = series.substring(le, series.indexOf('"', le));
            buckets.put(
                bound.equals("+Inf") ? Double.POSITIVE_INFINITY : Double.parseDouble(bound),
                count - before.getOrDefault(series, 0.0));
          }
        });
    double total = buckets.isEmpty() ? 0 : buckets.lastEntry().getValue();
    if (total == 0) {
      return null;
    }
    for (Map.Entry<Double, Double> bucket : buckets.entrySet()) {
      if (bucket.getValue() >= 0.99 * total) {
        return bucket.getKey() * 1000;
      }
    }
    return null;
  }
}
