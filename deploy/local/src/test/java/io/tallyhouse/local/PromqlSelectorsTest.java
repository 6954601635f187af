package io.tallyhouse.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

class PromqlSelectorsTest {

  private static List<String> selectors(String expr) {
    return PromqlSelectors.of(expr).stream().map(Object::toString).toList();
  }

  @Test
  void aggregationsFunctionsAndLabelListsAreNoSelectors() {
    assertEquals(
        List.of("stream_freshness_seconds_bucket{job=~\"usage.*\"}"),
        selectors(
            "histogram_quantile(0.99, sum by (job, le) "
                + "(rate(stream_freshness_seconds_bucket{job=~\"usage.*\"}[5m]))) > 60"));
    assertEquals(
        List.of("a_total", "b{x=\"1\"}"),
        selectors("sum without (instance) (a_total) / on (job) group_left (le) max(b{x=\"1\"})"));
  }

  @Test
  void everySelectorOfABinaryExpressionIsFound() {
    assertEquals(
        List.of("lag{consumer=\"writer\"}", "rows_total", "up{job!=\"a\",instance!~\"b.*\"}"),
        selectors(
            "sum by (job) (max by (job, topic, partition) (lag{consumer=\"writer\"})) > 0\n"
                + "  and sum by (job) (rate(rows_total[5m])) == 0 or absent(up{job!=\"a\","
                + " instance!~'b.*'} == 1) offset 5m unless 1e3 < bool 1 / 60"));
  }

  @Test
  void quotesAndBracesInsideValuesStayInTheValue() {
    PromqlSelectors.Selector selector =
        PromqlSelectors.of("x{route=\"/a/{id}\", q=~\"say \\\"hi\\\"\"}").get(0);
    assertEquals("x", selector.metric());
    assertEquals("/a/{id}", selector.matchers().get(0).value());
    assertEquals("say \"hi\"", selector.matchers().get(1).value());
    assertEquals("x{route=\"/a/{id}\"}", selector.render(PromqlSelectors.Matcher::equality));
  }

  @Test
  void whatItCannotReadIsAnErrorNotASkip() {
    assertThrows(IllegalArgumentException.class, () -> PromqlSelectors.of("{__name__=\"x\"}"));
    assertThrows(IllegalArgumentException.class, () -> PromqlSelectors.of("x{job}"));
    assertThrows(IllegalArgumentException.class, () -> PromqlSelectors.of("x{job=\"a\""));
  }
}
