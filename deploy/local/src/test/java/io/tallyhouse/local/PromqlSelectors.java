package io.tallyhouse.local;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The metric selectors of a PromQL expression ({@code rate(x_total{job="a"}[5m])} has {@code
 * x_total{job="a"}}), found by a small scanner rather than a full parser: enough for the
 * expressions of our alert rules and dashboard, and strict enough that anything it does not know
 * ends the scan with an error instead of a silent skip.
 */
final class PromqlSelectors {

  /** One label matcher: {@code label op "value"}. */
  record Matcher(String label, String op, String value) {
    boolean equality() {
      return op.equals("=");
    }

    @Override
    public String toString() {
      return label + op + '"' + value.replace("\\", "\\\\").replace("\"", "\\\"") + '"';
    }
  }

  /** A metric name with its label matchers. */
  record Selector(String metric, List<Matcher> matchers) {

    /** The selector with only the matchers {@code keep} accepts, as PromQL. */
    String render(java.util.function.Predicate<Matcher> keep) {
      List<Matcher> kept = matchers.stream().filter(keep).toList();
      return kept.isEmpty()
          ? metric
          : metric
              + kept.stream().map(Matcher::toString).collect(Collectors.joining(",", "{", "}"));
    }

    @Override
    public String toString() {
      return render(m -> true);
    }
  }

  /** Aggregations: followed by {@code by (...)}, {@code without (...)} or their argument list. */
  private static final Set<String> AGGREGATIONS =
      Set.of(
          "sum",
          "min",
          "max",
          "avg",
          "group",
          "stddev",
          "stdvar",
          "count",
          "count_values",
          "bottomk",
          "topk",
          "quantile");

  /** Keywords followed by a list of label names, which are no selectors. */
  private static final Set<String> LABEL_LISTS =
      Set.of("by", "without", "on", "ignoring", "group_left", "group_right");

  private static final Set<String> OPERATORS =
      Set.of("and", "or", "unless", "bool", "offset", "atan2");

  private PromqlSelectors() {}

  static List<Selector> of(String expr) {
    List<Selector> selectors = new ArrayList<>();
    int i = 0;
    while (i < expr.length()) {
      char c = expr.charAt(i);
      if (c == '[') {
        i = expr.indexOf(']', i) + 1; // a range or subquery duration
        if (i == 0) {
          throw new IllegalArgumentException("unclosed [ in " + expr);
        }
      } else if (c == '"' || c == '\'') {
        i = endOfString(expr, i);
      } else if (c == '{') {
        throw new IllegalArgumentException(
            "a selector without a metric name at " + i + " in " + expr);
      } else if (Character.isLetter(c) || c == '_' || c == ':') {
        int end = i;
        while (end < expr.length() && isNameChar(expr.charAt(end))) {
          end++;
        }
        String word = expr.substring(i, end);
        int next = skipSpaces(expr, end);
        char following = next < expr.length() ? expr.charAt(next) : '\0';
        if (LABEL_LISTS.contains(word)) {
          i = following == '(' ? expr.indexOf(')', next) + 1 : next;
        } else if (OPERATORS.contains(word) || AGGREGATIONS.contains(word) || following == '(') {
          i = end; // a function, an aggregation or a binary operator
        } else if (following == '{') {
          int close = endOfMatchers(expr, next);
          selectors.add(new Selector(word, matchers(expr.substring(next + 1, close - 1), expr)));
          i = close;
        } else {
          selectors.add(new Selector(word, List.of()));
          i = end;
        }
      } else if (Character.isDigit(c) || c == '.') {
        i++;
        while (i < expr.length()
            && (Character.isLetterOrDigit(expr.charAt(i)) || expr.charAt(i) == '.')) {
          i++; // a number (1e3, 0.05) or a duration after offset
        }
      } else {
        i++;
      }
    }
    return selectors;
  }

  private static List<Matcher> matchers(String body, String expr) {
    List<Matcher> matchers = new ArrayList<>();
    int i = 0;
    while (true) {
      i = skipSpaces(body, i);
      if (i >= body.length()) {
        return matchers;
      }
      int nameEnd = i;
      while (nameEnd < body.length() && isNameChar(body.charAt(nameEnd))) {
        nameEnd++;
      }
      String label = body.substring(i, nameEnd);
      int opStart = skipSpaces(body, nameEnd);
      int opEnd = opStart;
      while (opEnd < body.length() && "=!~".indexOf(body.charAt(opEnd)) >= 0) {
        opEnd++;
      }
      String op = body.substring(opStart, opEnd);
      int valueStart = skipSpaces(body, opEnd);
      if (label.isEmpty()
          || !Set.of("=", "!=", "=~", "!~").contains(op)
          || valueStart >= body.length()
          || (body.charAt(valueStart) != '"' && body.charAt(valueStart) != '\'')) {
        throw new IllegalArgumentException("cannot read the matchers {" + body + "} in " + expr);
      }
      int valueEnd = endOfString(body, valueStart);
      String value =
          body.substring(valueStart + 1, valueEnd - 1).replace("\\\"", "\"").replace("\\\\", "\\");
      matchers.add(new Matcher(label, op, value));
      i = skipSpaces(body, valueEnd);
      if (i < body.length()) {
        if (body.charAt(i) != ',') {
          throw new IllegalArgumentException("cannot read the matchers {" + body + "} in " + expr);
        }
        i++;
      }
    }
  }

  /** The index after the string literal that opens at {@code start}. */
  private static int endOfString(String text, int start) {
    char quote = text.charAt(start);
    for (int i = start + 1; i < text.length(); i++) {
      if (text.charAt(i) == '\\') {
        i++;
      } else if (text.charAt(i) == quote) {
        return i + 1;
      }
    }
    throw new IllegalArgumentException("unclosed string in " + text);
  }

  /** The index after the {@code }} that closes the matchers opening at {@code start}. */
  private static int endOfMatchers(String text, int start) {
    for (int i = start + 1; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c == '"' || c == '\'') {
        i = endOfString(text, i) - 1;
      } else if (c == '}') {
        return i + 1;
      }
    }
    throw new IllegalArgumentException("unclosed { in " + text);
  }

  private static int skipSpaces(String text, int i) {
    while (i < text.length() && Character.isWhitespace(text.charAt(i))) {
      i++;
    }
    return i;
  }

  private static boolean isNameChar(char c) {
    return Character.isLetterOrDigit(c) || c == '_' || c == ':';
  }
}
