package io.tallyhouse.common.clickhouse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.LocalDate;
import org.junit.jupiter.api.Test;

class SqlLiteralTest {

  @Test
  void quoteAndBackslashAreEscapedSoTheValueCannotLeaveTheLiteral() {
    assertEquals("'it\\'s'", SqlLiteral.string("it's"));
    assertEquals("'a\\\\b'", SqlLiteral.string("a\\b"));
    assertEquals("'\\\\\\''", SqlLiteral.string("\\'"));
    assertEquals("'x\\0y'", SqlLiteral.string("x\0y"));
  }

  @Test
  void otherCharactersStayLiteral() {
    assertEquals("'line\nnext -- ; /* */ ü 漢'", SqlLiteral.string("line\nnext -- ; /* */ ü 漢"));
  }

  @Test
  void nullIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> SqlLiteral.string(null));
  }

  @Test
  void dateIsRenderedAsToDate() {
    assertEquals("toDate('2026-11-21')", SqlLiteral.date(LocalDate.of(2026, 11, 21)));
  }

  @Test
  void identifiersArePlainNamesOnly() {
    assertEquals("usage_daily", SqlLiteral.identifier("usage_daily"));
    assertThrows(IllegalArgumentException.class, () -> SqlLiteral.identifier("x; DROP TABLE y"));
    assertThrows(IllegalArgumentException.class, () -> SqlLiteral.identifier("1abc"));
    assertThrows(IllegalArgumentException.class, () -> SqlLiteral.identifier("a`b"));
  }
}
