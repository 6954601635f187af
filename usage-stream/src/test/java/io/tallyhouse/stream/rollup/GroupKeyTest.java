package io.tallyhouse.stream.rollup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.tallyhouse.common.clickhouse.TabSeparated;
import io.tallyhouse.schemas.avro.UsageEvent;
import io.tallyhouse.schemas.contract.Money;
import io.tallyhouse.stream.Events;
import io.tallyhouse.stream.rows.UsageDailyRow;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The rollup store's binary totals and the usage_daily row built from a group key. */
class GroupKeyTest {

  @ParameterizedTest
  @ValueSource(
      strings = {
        "0",
        "0.000000000001",
        "1",
        "123456789.123456789012",
        "99999999999999999999999999.999999999999"
      })
  void totalsSurviveTheStoreFormatExactly(String amount) {
    BigDecimal money = new BigDecimal(amount).setScale(Money.SCALE);
    GroupTotals totals = new GroupTotals(Long.MAX_VALUE, 1, 2, 3, 4, money, money, 5, 6);
    GroupTotals back = GroupTotals.fromBytes(totals.toBytes());
    assertEquals(totals, back);
    assertEquals(money.toPlainString(), back.usage().toPlainString());
  }

  @Test
  void truncatedOrOverlongStoreBytesAreRefused() {
    byte[] bytes =
        Events.totals(Events.event("acme", "1", "2026-11-20T10:00:00Z", null, "1")).toBytes();
    assertThrows(
        IllegalArgumentException.class,
        () -> GroupTotals.fromBytes(java.util.Arrays.copyOf(bytes, bytes.length - 1)));
    assertThrows(
        IllegalArgumentException.class,
        () -> GroupTotals.fromBytes(java.util.Arrays.copyOf(bytes, bytes.length + 1)));
  }

  @Test
  void theLargestTotalsDecimal38HoldsTakeSixteenBytesAndAnythingBeyondIsRefused() {
    BigDecimal largest = new BigDecimal("99999999999999999999999999.999999999999");
    assertEquals(GroupTotals.MAX_AMOUNT_BYTES, largest.unscaledValue().toByteArray().length);
    for (String impossible : new String[] {"100000000000000000000000000", "-0.000000000001"}) {
      BigDecimal money = new BigDecimal(impossible);
      assertThrows(
          IllegalArgumentException.class,
          () -> new GroupTotals(1, 0, 0, 0, 0, money, BigDecimal.ZERO, 0, 1),
          impossible);
      assertThrows(
          IllegalArgumentException.class,
          () -> new GroupTotals(1, 0, 0, 0, 0, BigDecimal.ZERO, money, 0, 1),
          impossible);
    }
  }

  @Test
  void storedAmountsOfImpossibleLengthOrValueAreRefused() {
    byte[] bytes =
        Events.totals(Events.event("acme", "1", "2026-11-20T10:00:00Z", null, "1")).toBytes();
    int usageLength = 7 * Long.BYTES;
    for (byte length : new byte[] {0, -1, (byte) (GroupTotals.MAX_AMOUNT_BYTES + 1)}) {
      byte[] corrupt = bytes.clone();
      corrupt[usageLength] = length;
      assertThrows(
          IllegalArgumentException.class, () -> GroupTotals.fromBytes(corrupt), "length " + length);
    }
    // A negative unscaled amount: no legal events sum to it.
    byte[] negative = bytes.clone();
    negative[usageLength + 1] = (byte) 0x80;
    assertThrows(IllegalArgumentException.class, () -> GroupTotals.fromBytes(negative));
  }

  @Test
  void aGroupKeyGivesBackEveryFieldOfItsRow() {
    UsageEvent e =
        Events.event("beta.corp:eu-1", "1", "2026-11-20T23:59:59.999Z", null, "0.000043022187");
    GroupTotals totals = Events.totals(e, e);
    UsageDailyRow rollup = UsageDailyRow.of(GroupKey.of(e), totals);
    assertEquals("beta.corp:eu-1", rollup.accountId());
    assertEquals(LocalDate.parse("2026-11-20"), rollup.date());
    assertEquals("", rollup.userId(), "no user is ''");
    assertEquals(Events.KEY_A, rollup.apiKeyHash());
    assertEquals("OpenAI/openai/gpt-4o-2024-08-06", rollup.endpointId());

    Map<String, String> row = row(GroupKey.of(e), 3, totals);
    assertEquals("beta.corp:eu-1", row.get("account_id"));
    assertEquals("2026-11-20", row.get("date"));
    assertEquals("", row.get("user_id"));
    assertEquals("3", row.get("shard"));
    assertEquals("2", row.get("requests"));
    assertEquals("2", row.get("version"));
    assertEquals("0.000086044374", row.get("usage"));
    assertEquals("openai/gpt-4o-2024-08-06", row.get("model_permaslug"));
    assertEquals("OpenAI", row.get("provider_name"));
    assertEquals("2026-11-21 00:00:01", row.get("updated_at"));
    TabSeparated pair = new TabSeparated(8);
    UsageDailyRow.appendApiKeyRow(
        pair, GroupKey.apiKeyPair(GroupKey.of(e).getBytes(StandardCharsets.UTF_8)));
    assertEquals(
        "beta.corp:eu-1\t" + Events.KEY_A + "\n",
        new String(pair.toByteArray(), StandardCharsets.UTF_8));
    assertEquals("2026-11-20", GroupKey.day(GroupKey.of(e)));
  }

  @Test
  void aHostileUserStaysInsideItsColumn() {
    UsageEvent e = Events.event("acme", "1", "2026-11-20T10:00:00Z", "a\tb\nc\\", "1");
    Map<String, String> row = row(GroupKey.of(e), 0, Events.totals(e));
    assertEquals("a\\tb\\nc\\\\", row.get("user_id"), "escaped, as ClickHouse reads it back");
    assertEquals("OpenAI/openai/gpt-4o-2024-08-06", row.get("endpoint_id"));
  }

  @Test
  void nonAsciiFieldsPassThroughTheBytePathUnchanged() {
    UsageEvent e = Events.event("acme", "1", "2026-11-20T10:00:00Z", "zoë 漢字 😀", "1");
    assertEquals("zoë 漢字 😀", row(GroupKey.of(e), 0, Events.totals(e)).get("user_id"));
    assertEquals("zoë 漢字 😀", UsageDailyRow.of(GroupKey.of(e), Events.totals(e)).userId());
  }

  /**
   * The row appendRow writes, by column; fails unless it is exactly one line of one value per
   * column.
   */
  private static Map<String, String> row(String groupKey, int shard, GroupTotals totals) {
    TabSeparated out = new TabSeparated(64);
    UsageDailyRow.appendRow(
        out, groupKey.getBytes(StandardCharsets.UTF_8), shard, totals, "2026-11-21 00:00:01");
    return Events.byColumn(out.toByteArray(), UsageDailyRow.COLUMNS);
  }

  @Test
  void somethingThatIsNotAGroupKeyIsRefused() {
    GroupTotals totals =
        Events.totals(Events.event("acme", "1", "2026-11-20T10:00:00Z", null, "1"));
    assertThrows(
        IllegalArgumentException.class, () -> UsageDailyRow.of("acme\u001f2026-11-20", totals));
  }
}
