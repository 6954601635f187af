package io.tallyhouse.common.clickhouse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class TabSeparatedTest {

  private static String text(TabSeparated rows) {
    return new String(rows.toByteArray(), StandardCharsets.UTF_8);
  }

  @Test
  void valuesAreSeparatedByTabsAndRowsEndInANewline() {
    TabSeparated rows = new TabSeparated(1).string("a").number(-42).nullableString(null).endRow()
        .decimal(new BigDecimal("1E-12")).string("").endRow();
    assertEquals("a\t-42\t\\N\n0.000000000001\t\n", text(rows));
  }

  @Test
  void theCharactersThatEndAValueAreEscapedAsClickHousePrintsThem() {
    assertEquals("\\\\\\t\\n\\r\\0\\b\\f'\"\\\\N\n",
        text(new TabSeparated(1).string("\\\t\n\r\0\b\f'\"\\N").endRow()));
  }

  @Test
  void aPartialRangeOfAStringIsOneValue() {
    assertEquals("bc\n", text(new TabSeparated(1).string("abcd", 1, 3).endRow()));
  }

  @Test
  void anOpenRowIsNeverHandedOut() {
    TabSeparated rows = new TabSeparated(8).string("x");
    assertThrows(IllegalStateException.class, rows::toByteArray);
    assertThrows(IllegalStateException.class, () -> rows.rows("y\n".getBytes(StandardCharsets.UTF_8)));
    assertEquals("x\ny\n", text(rows.endRow().rows("y\n".getBytes(StandardCharsets.UTF_8))));
  }

  @Test
  void nonAsciiIsUtf8() {
    String value = "ümlaut 漢字 😀";
    assertEquals(value + "\n", text(new TabSeparated(1).string(value).endRow()));
  }
}
