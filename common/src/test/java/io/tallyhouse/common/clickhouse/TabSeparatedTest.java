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
    TabSeparated rows =
        new TabSeparated(1)
            .string("a")
            .number(-42)
            .nullableString(null)
            .endRow()
            .decimal(new BigDecimal("1E-12"))
            .string("")
            .endRow();
    assertEquals("a\t-42\t\\N\n0.000000000001\t\n", text(rows));
  }

  @Test
  void decimalsAreWrittenWholeAndOnlyWhenDecimal38Scale12HoldsThem() {
    assertEquals(
        "99999999999999999999999999.999999999999\t-1\t1.5\t100\n",
        text(
            new TabSeparated(1)
                .decimal(new BigDecimal("99999999999999999999999999.999999999999"))
                .decimal(new BigDecimal("-1"))
                .decimal(new BigDecimal("1.5000000000000000"))
                .decimal(new BigDecimal("1E+2"))
                .endRow()));
    for (String refused :
        new String[] {"100000000000000000000000000", "-1E+26", "0.0000000000001"}) {
      assertThrows(
          IllegalArgumentException.class,
          () -> new TabSeparated(1).decimal(new BigDecimal(refused)),
          refused);
    }
  }

  @Test
  void theCharactersThatEndAValueAreEscapedAsClickHousePrintsThem() {
    assertEquals(
        "\\\\\\t\\n\\r\\0\\b\\f'\"\\\\N\n",
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
    assertThrows(
        IllegalStateException.class, () -> rows.rows("y\n".getBytes(StandardCharsets.UTF_8)));
    assertEquals("x\ny\n", text(rows.endRow().rows("y\n".getBytes(StandardCharsets.UTF_8))));
  }

  @Test
  void nonAsciiIsUtf8() {
    String value = "ümlaut 漢字 😀";
    assertEquals(value + "\n", text(new TabSeparated(1).string(value).endRow()));
  }

  @Test
  void integersAreTheirDecimalDigits() {
    TabSeparated rows = new TabSeparated(1);
    long[] values = {
      0, 7, 9, 10, 99, 100, 1_795_168_800_123_456L, Long.MAX_VALUE, -1, Long.MIN_VALUE
    };
    for (long value : values) {
      rows.number(value);
    }
    StringBuilder expected = new StringBuilder();
    for (long value : values) {
      expected.append(expected.length() == 0 ? "" : "\t").append(value);
    }
    assertEquals(expected + "\n", text(rows.endRow()));
  }

  @Test
  void aClearedBufferStartsEmptyAndItsStreamHoldsExactlyTheRows() throws Exception {
    TabSeparated rows =
        new TabSeparated(4).string("first batch, longer than the initial buffer").endRow();
    rows.clear().string("x").number(1).endRow();
    assertEquals("x\t1\n", new String(rows.inputStream().readAllBytes(), StandardCharsets.UTF_8));
    assertThrows(IllegalStateException.class, () -> rows.string("open").inputStream());
  }

  @Test
  void utf8BytesAreEscapedExactlyAsTheSameString() {
    java.util.Random random = new java.util.Random(11);
    for (int n = 0; n < 2000; n++) {
      StringBuilder value = new StringBuilder();
      for (int j = random.nextInt(30); j > 0; j--) {
        int pick = random.nextInt(3);
        value.appendCodePoint(
            pick == 0
                ? random.nextInt(0x80)
                : pick == 1 ? random.nextInt(0xD800) : 0x10000 + random.nextInt(0x10000));
      }
      byte[] utf8 = ("x" + value + "y").getBytes(StandardCharsets.UTF_8);
      assertEquals(
          text(new TabSeparated(1).string(value).endRow()),
          text(new TabSeparated(1).utf8(utf8, 1, utf8.length - 1).endRow()),
          value.toString());
    }
  }

  @Test
  void anUnscaledLongIsWrittenExactlyAsItsDecimal() {
    java.util.Random random = new java.util.Random(13);
    for (int n = 0; n < 20_000; n++) {
      long unscaled =
          switch (n) {
            case 0 -> 0;
            case 1 -> 1;
            case 2 -> 999_999_999_999L;
            case 3 -> 1_000_000_000_000L;
            case 4 -> Long.MAX_VALUE;
            case 5 -> -1;
            case 6 -> Long.MIN_VALUE;
            default -> random.nextLong() >>> random.nextInt(64);
          };
      assertEquals(
          text(new TabSeparated(1).string("a").decimal(BigDecimal.valueOf(unscaled, 12)).endRow()),
          text(new TabSeparated(1).string("a").decimalOfUnscaled(unscaled).endRow()),
          Long.toString(unscaled));
    }
  }

  @Test
  void utf8ValuesJoinedBySeparatorsAreWrittenExactlyAsEachValueAlone() {
    java.util.Random random = new java.util.Random(12);
    for (int n = 0; n < 2000; n++) {
      String[] values = new String[1 + random.nextInt(9)];
      TabSeparated oneByOne = new TabSeparated(1).string("before");
      for (int v = 0; v < values.length; v++) {
        StringBuilder value = new StringBuilder();
        for (int j = random.nextInt(12); j > 0; j--) {
          int pick = random.nextInt(3);
          int cp =
              pick == 0
                  ? random.nextInt(0x80)
                  : pick == 1 ? random.nextInt(0xD800) : 0x10000 + random.nextInt(0x10000);
          value.appendCodePoint(cp == 0x1f ? 'x' : cp);
        }
        values[v] = value.toString();
        oneByOne.string(values[v]);
      }
      String joined = String.join("\u001f", values);
      byte[] utf8 = ("x" + joined + "y").getBytes(StandardCharsets.UTF_8);
      int[] ends = new int[9];
      TabSeparated inOnePass = new TabSeparated(1).string("before");
      assertEquals(
          values.length, inOnePass.utf8Values(utf8, 1, utf8.length - 1, (byte) 0x1f, ends));
      assertEquals(text(oneByOne.endRow()), text(inOnePass.endRow()), joined);
      for (int v = 0, from = 1; v < values.length; from = ends[v++] + 1) {
        assertEquals(values[v], new String(utf8, from, ends[v] - from, StandardCharsets.UTF_8));
      }
    }
  }

  @Test
  void utf8ValuesRefuseMoreValuesThanTheirEndsTakeAndANonAsciiSeparator() {
    byte[] three = "a\u001fb\u001fc".getBytes(StandardCharsets.UTF_8);
    assertThrows(
        IllegalArgumentException.class,
        () -> new TabSeparated(1).utf8Values(three, 0, three.length, (byte) 0x1f, new int[2]));
    assertEquals(
        3, new TabSeparated(1).utf8Values(three, 0, three.length, (byte) 0x1f, new int[3]));
    assertThrows(
        IllegalArgumentException.class,
        () -> new TabSeparated(1).utf8Values(three, 0, three.length, (byte) 0xC3, new int[3]));
  }

  @Test
  void dateTimesEqualTheLibraryFormattersAcrossClickHouseDateTimeRange() {
    java.time.format.DateTimeFormatter formatter =
        java.time.format.DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss")
            .withZone(java.time.ZoneOffset.UTC);
    java.util.Random random = new java.util.Random(7);
    long last = java.time.Instant.parse("2105-12-31T23:59:59Z").getEpochSecond();
    TabSeparated rows = new TabSeparated(16);
    StringBuilder expected = new StringBuilder();
    for (int i = 0; i < 20_000; i++) {
      long second = i == 0 ? 0 : i == 1 ? last : Math.floorMod(random.nextLong(), last);
      java.time.Instant t = java.time.Instant.ofEpochSecond(second);
      rows.dateTime(second)
          .date(java.time.LocalDate.ofInstant(t, java.time.ZoneOffset.UTC))
          .endRow();
      expected.append(formatter.format(t)).append('\t').append(t.toString(), 0, 10).append('\n');
    }
    assertEquals(expected.toString(), text(rows));
  }
}
