package io.tallyhouse.query.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class QueryStringTest {

  @Test
  void decodesPercentEscapesAndPlus() {
    assertEquals(
        Map.of("user_id", List.of("ü'ser \\ 1")),
        QueryString.parse("user_id=%C3%BC%27ser+%5C%201"));
  }

  @Test
  void keepsEveryValueOfARepeatedName() {
    assertEquals(Map.of("a", List.of("1", "2")), QueryString.parse("a=1&a=2"));
  }

  @Test
  void namesAreCaseSensitive() {
    assertEquals(
        Map.of("date", List.of("x"), "Date", List.of("y")), QueryString.parse("date=x&Date=y"));
  }

  @Test
  void semicolonStaysInTheValue() {
    assertEquals(Map.of("user_id", List.of("a;b")), QueryString.parse("user_id=a;b"));
  }

  @Test
  void emptyPartsAndMissingValues() {
    assertEquals(Map.of(), QueryString.parse(null));
    assertEquals(Map.of(), QueryString.parse(""));
    assertEquals(Map.of("a", List.of(""), "b", List.of("")), QueryString.parse("&a&&b=&"));
  }

  @Test
  void malformedEscapeIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> QueryString.parse("user_id=%zz"));
    assertThrows(IllegalArgumentException.class, () -> QueryString.parse("user_id=%"));
  }
}
