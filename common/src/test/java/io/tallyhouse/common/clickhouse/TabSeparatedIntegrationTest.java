package io.tallyhouse.common.clickhouse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.tallyhouse.testkit.ClickHouseEndpoint;
import io.tallyhouse.testkit.Infra;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Hostile values inserted as TabSeparated come back from the real server exactly, each in its own
 * column.
 */
class TabSeparatedIntegrationTest {

  private static final List<String> COLUMNS = List.of("n", "s", "ns", "d", "after");
  private static ClickHouse clickHouse;

  @BeforeAll
  static void connect() {
    ClickHouseEndpoint endpoint = Infra.clickhouse();
    clickHouse =
        new ClickHouse(
            new ClickHouseConfig(
                endpoint.httpUrl(), endpoint.user(), endpoint.password(), "tab_separated_test"));
    clickHouse.createDatabaseIfMissing();
    // "after" follows the hostile columns: a value that ended early would shift text into it.
    clickHouse.execute(
        "CREATE TABLE IF NOT EXISTS t (n UInt64, s String, ns Nullable(String), d Decimal(38, 12),"
            + " after String) ENGINE = MergeTree ORDER BY n");
  }

  @AfterAll
  static void close() {
    clickHouse.execute("DROP DATABASE IF EXISTS tab_separated_test");
    clickHouse.close();
  }

  @Test
  void hostileValuesRoundTripExactly() {
    List<String> values =
        new ArrayList<>(
            List.of(
                "plain",
                "",
                "\\",
                "\\N",
                "N",
                "\t",
                "\n",
                "\r",
                "line\nbreak",
                "tab\tand\rcarriage\r",
                "trailing backslash\\",
                "\\t is not a tab",
                "\0nul\0",
                "\b\f",
                "it's \"quoted\"",
                "' OR 1=1 --",
                "ümlaut 漢字 😀",
                "\\x41",
                "{\"json\": 1}",
                "'\\".repeat(5000)));
    Random random = new Random(7);
    for (int i = 0; i < 200; i++) {
      StringBuilder fuzz = new StringBuilder();
      for (int j = random.nextInt(40); j > 0; j--) {
        // Mostly the characters that matter to the format, some any BMP character, some astral.
        int pick = random.nextInt(10);
        if (pick < 5) {
          String special = "\\\t\n\r\0\b\f'\"N";
          fuzz.append(special.charAt(random.nextInt(special.length())));
        } else if (pick < 9) {
          char c = (char) random.nextInt(0xD800);
          fuzz.append(c);
        } else {
          fuzz.appendCodePoint(0x10000 + random.nextInt(0x1000));
        }
      }
      values.add(fuzz.toString());
    }
    TabSeparated rows = new TabSeparated(64);
    for (int i = 0; i < values.size(); i++) {
      String value = values.get(i);
      rows.number(i)
          .string(value)
          .nullableString(i % 3 == 0 ? null : value)
          .decimal(new BigDecimal("12345678901234567890.000000000001").add(BigDecimal.valueOf(i)))
          .string("end")
          .endRow();
    }
    clickHouse.insertTabSeparated("t", COLUMNS, rows.toByteArray());

    // toString keeps the decimal exact; 18.16's toString garbles Decimal128 values of more than 32
    // digits, so the
    // amounts here stay below that.
    List<JsonNode> back =
        clickHouse.query("SELECT n, s, ns, toString(d) AS d_text, after FROM t ORDER BY n");
    assertEquals(values.size(), back.size());
    for (int i = 0; i < values.size(); i++) {
      JsonNode row = back.get(i);
      assertEquals(values.get(i), row.get("s").asText(), "row " + i);
      if (i % 3 == 0) {
        assertTrue(row.get("ns").isNull(), "row " + i + " must be NULL");
      } else {
        assertEquals(values.get(i), row.get("ns").asText(), "row " + i);
      }
      assertEquals(
          new BigDecimal("12345678901234567890.000000000001")
              .add(BigDecimal.valueOf(i))
              .toPlainString(),
          row.get("d_text").asText(),
          "row " + i);
      assertEquals("end", row.get("after").asText(), "row " + i);
    }
  }

  @Test
  void anUnpairedSurrogateBecomesAQuestionMarkAsStringGetBytesDoes() {
    String broken = "a\uD800b\uDC00";
    byte[] row = new TabSeparated(4).string(broken).endRow().toByteArray();
    assertEquals(
        new String((broken.getBytes(java.nio.charset.StandardCharsets.UTF_8))) + "\n",
        new String(row, java.nio.charset.StandardCharsets.UTF_8));
  }
}
