package io.tallyhouse.query.http;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Decodes a raw query string into names and all their values, case-sensitively ({@code Date} is not
 * {@code date}) and with {@code &} as the only separator, so a {@code ;} stays inside a value.
 */
public final class QueryString {

  private QueryString() {}

  /**
   * @param raw the part after {@code ?}, undecoded; null or empty for none
   * @throws IllegalArgumentException on a malformed percent-escape
   */
  public static Map<String, List<String>> parse(String raw) {
    Map<String, List<String>> params = new LinkedHashMap<>();
    if (raw == null || raw.isEmpty()) {
      return params;
    }
    for (String pair : raw.split("&")) {
      if (pair.isEmpty()) {
        continue;
      }
      int eq = pair.indexOf('=');
      String name = decode(eq < 0 ? pair : pair.substring(0, eq));
      String value = eq < 0 ? "" : decode(pair.substring(eq + 1));
      params.computeIfAbsent(name, n -> new ArrayList<>()).add(value);
    }
    return params;
  }

  /**
   * {@link #parse}, or null when a percent-escape is malformed (the routes answer that 400 after
   * auth).
   */
  static Map<String, List<String>> parseOrNull(String raw) {
    try {
      return parse(raw);
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  private static String decode(String text) {
    return URLDecoder.decode(text, StandardCharsets.UTF_8);
  }
}
