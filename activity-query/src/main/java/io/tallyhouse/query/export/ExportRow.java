package io.tallyhouse.query.export;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tallyhouse.query.json.JsonText;
import io.tallyhouse.schemas.contract.Workspaces;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.List;

/**
 * One row of the finance export: the values of the request's group columns (stored form, {@code ''}
 * for "no user" and for the default workspace, as the keyset cursor needs them) and the totals of
 * that group.
 *
 * @param columns the group column names, in order ({@link ExportRequest#groupColumns()})
 * @param values their values, same order
 */
public record ExportRow(
    List<String> columns,
    List<String> values,
    BigInteger requests,
    BigInteger promptTokens,
    BigInteger completionTokens,
    BigInteger reasoningTokens,
    BigInteger cachedTokens,
    BigInteger byokRequests,
    BigDecimal usage,
    BigDecimal byokUsageInference) {

  /** The numeric columns after the group columns, in JSON and CSV order. */
  public static final List<String> TOTALS =
      List.of(
          "requests",
          "prompt_tokens",
          "completion_tokens",
          "reasoning_tokens",
          "cached_tokens",
          "byok_requests",
          "usage",
          "byok_usage_inference");

  public ExportRow {
    columns = List.copyOf(columns);
    values = List.copyOf(values);
    if (columns.size() != values.size()) {
      throw new IllegalArgumentException("one value per group column");
    }
  }

  /**
   * The group columns then the totals; user_id null for "no user", the workspace as the API shows
   * it; money exact, plain, no trailing zeros.
   */
  public void writeTo(ObjectNode node) {
    for (int i = 0; i < columns.size(); i++) {
      String column = columns.get(i);
      String value = shown(column, values.get(i));
      if (column.equals("user_id") && value.isEmpty()) {
        node.putNull(column);
      } else {
        node.put(column, value);
      }
    }
    node.put("requests", requests);
    node.put("prompt_tokens", promptTokens);
    node.put("completion_tokens", completionTokens);
    node.put("reasoning_tokens", reasoningTokens);
    node.put("cached_tokens", cachedTokens);
    node.put("byok_requests", byokRequests);
    node.put("usage", JsonText.plain(usage));
    node.put("byok_usage_inference", JsonText.plain(byokUsageInference));
  }

  /** A group value as the export shows it: the workspace through {@link Workspaces#shown}. */
  private static String shown(String column, String stored) {
    return column.equals("workspace_id") ? Workspaces.shown(stored) : stored;
  }

  /** The CSV header line (with CRLF) for {@code columns}. */
  public static String csvHeader(List<String> columns) {
    StringBuilder line = new StringBuilder();
    for (String column : columns) {
      line.append(column).append(',');
    }
    line.append(String.join(",", TOTALS)).append("\r\n");
    return line.toString();
  }

  /**
   * Appends this row as one RFC 4180 record (CRLF-terminated); "no user" is an empty cell, the
   * workspace as the API shows it.
   */
  public void appendCsv(StringBuilder out) {
    for (int i = 0; i < columns.size(); i++) {
      appendCsvField(out, shown(columns.get(i), values.get(i)));
      out.append(',');
    }
    out.append(requests)
        .append(',')
        .append(promptTokens)
        .append(',')
        .append(completionTokens)
        .append(',')
        .append(reasoningTokens)
        .append(',')
        .append(cachedTokens)
        .append(',')
        .append(byokRequests)
        .append(',')
        .append(JsonText.plain(usage).toPlainString())
        .append(',')
        .append(JsonText.plain(byokUsageInference).toPlainString())
        .append("\r\n");
  }

  /**
   * First characters that make a spreadsheet read a cell as a formula (OWASP "CSV injection"):
   * Excel, LibreOffice and Google Sheets run {@code =HYPERLINK(...)} or {@code +1+cmd|...} as
   * typed.
   */
  private static final String FORMULA_START = "=+-@\t\r";

  /**
   * RFC 4180: a field with a comma, quote, CR or LF is quoted and its quotes doubled. A field
   * starting with one of {@link #FORMULA_START} is neutralised as OWASP recommends: quoted, with a
   * single quote in front, so a spreadsheet shows it as text. Only group values come here (user
   * ids, models, endpoints, providers); the totals are written as plain numbers and are never
   * negative.
   */
  static void appendCsvField(StringBuilder out, String value) {
    boolean formula = !value.isEmpty() && FORMULA_START.indexOf(value.charAt(0)) >= 0;
    boolean quote = formula;
    for (int i = 0; i < value.length() && !quote; i++) {
      char c = value.charAt(i);
      quote = c == ',' || c == '"' || c == '\r' || c == '\n';
    }
    if (!quote) {
      out.append(value);
      return;
    }
    out.append('"');
    if (formula) {
      out.append('\'');
    }
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c == '"') {
        out.append('"');
      }
      out.append(c);
    }
    out.append('"');
  }
}
