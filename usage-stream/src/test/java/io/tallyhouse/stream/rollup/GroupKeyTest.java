package io.tallyhouse.stream.rollup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.tallyhouse.common.clickhouse.TabSeparated;
import io.tallyhouse.schemas.avro.UsageEvent;
import io.tallyhouse.schemas.contract.Money;
import io.tallyhouse.schemas.contract.Workspaces;
import io.tallyhouse.stream.Events;
import io.tallyhouse.stream.rows.UsageDailyRow;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.util.Map;
import java.util.Random;
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

  /**
   * The writer reads only the version of totals a newer version in its batch supersedes: it must
   * refuse exactly what the full decoding refuses, and read the same version.
   */
  @Test
  void theVersionAloneIsReadAsTheFullDecodingReadsItAndRefusedWhenItIsRefused() {
    java.util.Random random = new java.util.Random(5);
    BigDecimal largest = new BigDecimal("99999999999999999999999999.999999999999");
    GroupTotals[] valid = {
      new GroupTotals(1, 2, 3, 4, 5, BigDecimal.ZERO, BigDecimal.ZERO, 0, 1),
      new GroupTotals(7, 1, 1, 1, 1, largest, new BigDecimal("0.5"), 3, Long.MAX_VALUE),
      new GroupTotals(9, 0, 0, 0, 0, new BigDecimal("123.000000000001"), largest, 9, 1L << 40)
    };
    int refused = 0;
    for (int n = 0; n < 20_000; n++) {
      byte[] bytes = valid[random.nextInt(valid.length)].toBytes();
      switch (random.nextInt(4)) {
        case 0 -> bytes = java.util.Arrays.copyOf(bytes, random.nextInt(bytes.length + 3));
        case 1 -> bytes[random.nextInt(bytes.length)] = (byte) random.nextInt(256);
        case 2 -> {
          // The framing and the amounts' first bytes, where the refusals are decided.
          int at = 7 * Long.BYTES + random.nextInt(bytes.length - 7 * Long.BYTES);
          bytes[at] = (byte) (random.nextBoolean() ? random.nextInt(20) : random.nextInt(256));
        }
        default -> {}
      }
      byte[] tried = bytes;
      Long full;
      try {
        full = GroupTotals.fromBytes(tried).version();
      } catch (IllegalArgumentException e) {
        full = null;
      }
      if (full == null) {
        refused++;
        assertThrows(
            IllegalArgumentException.class,
            () -> GroupTotals.version(tried),
            java.util.HexFormat.of().formatHex(tried));
      } else {
        assertEquals(full, GroupTotals.version(tried), java.util.HexFormat.of().formatHex(tried));
      }
    }
    assertEquals(true, refused > 5_000 && refused < 15_000, "both outcomes tried: " + refused);
    byte[] tooLarge = valid[1].toBytes();
    tooLarge[7 * Long.BYTES + 1] = (byte) 0x4c; // 10^38 starts with 0x4b 0x3b
    assertThrows(IllegalArgumentException.class, () -> GroupTotals.fromBytes(tooLarge));
    assertThrows(IllegalArgumentException.class, () -> GroupTotals.version(tooLarge));
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
    assertEquals(
        "beta.corp:eu-1\t" + Events.KEY_A + "\n",
        pairRow(GroupKey.of(e).getBytes(StandardCharsets.UTF_8), GroupKey.API_KEY));
    assertEquals("2026-11-20", GroupKey.day(GroupKey.of(e)));
    assertEquals(Workspaces.DEFAULT, rollup.workspaceId());
    assertEquals("", row.get("workspace_id"), "usage_daily stores the default workspace as ''");
  }

  /** The fields of {@link #event}'s group, in the key's order, before any workspace. */
  private static final String FIELDS_OF_EVENT =
      "acme\u001f2026-11-20\u001f"
          + Events.KEY_A
          + "\u001fu-1\u001fOpenAI/openai/gpt-4o-2024-08-06\u001fopenai/gpt-4o"
          + "\u001fopenai/gpt-4o-2024-08-06\u001fOpenAI";

  private static UsageEvent event() {
    return Events.event("acme", "1", "2026-11-20T10:00:00Z", "u-1", "1");
  }

  /**
   * Rollup stores and changelogs from before workspaces hold keys of eight fields: a group of the
   * default workspace must keep exactly that key (hash prefix included), or its totals would
   * restart at version 1 under a new key.
   */
  @Test
  void aGroupOfTheDefaultWorkspaceKeepsTheKeyItHadBeforeWorkspaces() {
    String before = "a64b1007\u001f" + FIELDS_OF_EVENT;
    assertEquals(before, GroupKey.of(event()));
    assertEquals(
        before,
        GroupKey.of(UsageEvent.newBuilder(event()).setWorkspaceId(Workspaces.DEFAULT).build()));
  }

  /**
   * The key's definition, written out plainly: the fields joined by the separator, behind eight hex
   * digits of String.hashCode of that text times 0x9E3779B9. Keys already in stores and changelogs
   * follow it, so a faster build must give the same keys for any text, outside ASCII too.
   */
  @Test
  void everyKeyFollowsItsDefinitionForAnyText() {
    Random random = new Random(11);
    String[] alphabet = {"a", "Z", "0", "-", "/", ".", "é", "ß", "漢", "😀", " ", "\\"};
    for (int run = 0; run < 2_000; run++) {
      UsageEvent e = event();
      e.setAccountId(text(random, alphabet));
      e.setUser(random.nextInt(5) == 0 ? null : text(random, alphabet));
      e.setModel(text(random, alphabet));
      e.setProviderName(text(random, alphabet));
      e.setWorkspaceId(random.nextBoolean() ? Workspaces.DEFAULT : text(random, alphabet));
      String fields =
          String.join(
              "\u001f",
              e.getAccountId(),
              GroupKey.utcDay(e).toString(),
              e.getApiKeyHash(),
              e.getUser() == null ? "" : e.getUser(),
              e.getEndpointId(),
              e.getModel(),
              e.getModelPermaslug(),
              e.getProviderName());
      if (!Workspaces.DEFAULT.equals(e.getWorkspaceId())) {
        fields += "\u001f" + e.getWorkspaceId();
      }
      String expected = String.format("%08x", fields.hashCode() * 0x9E3779B9) + "\u001f" + fields;
      assertEquals(expected, GroupKey.of(e));
    }
  }

  private static String text(Random random, String[] alphabet) {
    StringBuilder text = new StringBuilder();
    for (int i = 1 + random.nextInt(12); i > 0; i--) {
      text.append(alphabet[random.nextInt(alphabet.length)]);
    }
    return text.toString();
  }

  @Test
  void aGroupOfAnotherWorkspaceHasItAsANinthField() {
    UsageEvent e = UsageEvent.newBuilder(event()).setWorkspaceId("ops.eu:1").build();
    String key = GroupKey.of(e);
    assertEquals("a529b80b\u001f" + FIELDS_OF_EVENT + "\u001fops.eu:1", key);
    byte[] bytes = key.getBytes(StandardCharsets.UTF_8);
    assertEquals(GroupKey.FIELDS_WITH_WORKSPACE, GroupKey.fieldEnds(bytes).length);
    assertEquals("2026-11-20", GroupKey.day(key));

    UsageDailyRow rollup = UsageDailyRow.of(key, Events.totals(e));
    assertEquals("ops.eu:1", rollup.workspaceId());
    assertEquals("OpenAI", rollup.providerName());
    assertEquals("u-1", rollup.userId());
    Map<String, String> row = row(key, 2, Events.totals(e));
    assertEquals("ops.eu:1", row.get("workspace_id"));
    assertEquals("OpenAI", row.get("provider_name"));
    assertEquals("2", row.get("shard"));

    assertEquals("acme\t" + Events.KEY_A + "\n", pairRow(bytes, GroupKey.API_KEY));
    assertEquals("acme\tops.eu:1\n", pairRow(bytes, GroupKey.WORKSPACE));
    int[] ends = new int[GroupKey.FIELDS_WITH_WORKSPACE];
    assertEquals(
        GroupKey.FIELDS,
        GroupKey.appendFields(
            GroupKey.of(event()).getBytes(StandardCharsets.UTF_8), new TabSeparated(8), ends));
    assertEquals(
        java.util.Arrays.toString(
            GroupKey.fieldEnds(GroupKey.of(event()).getBytes(StandardCharsets.UTF_8))),
        java.util.Arrays.toString(java.util.Arrays.copyOf(ends, GroupKey.FIELDS)));
  }

  @Test
  void keysOfOtherFieldCountsOrAnEmptyWorkspaceAreRefused() {
    String eight = "a64b1007\u001f" + FIELDS_OF_EVENT;
    for (String notAKey :
        new String[] {
          eight.substring(0, eight.lastIndexOf('\u001f')),
          eight + "\u001fops\u001fmore",
          eight + "\u001f",
          "no-prefix"
        }) {
      assertThrows(
          IllegalArgumentException.class,
          () -> GroupKey.fieldEnds(notAKey.getBytes(StandardCharsets.UTF_8)),
          notAKey);
      assertThrows(
          IllegalArgumentException.class,
          () ->
              GroupKey.appendFields(
                  notAKey.getBytes(StandardCharsets.UTF_8),
                  new TabSeparated(8),
                  new int[GroupKey.FIELDS_WITH_WORKSPACE]),
          notAKey);
    }
  }

  /** The pair row of the key's account and its field {@code field}, read as the writer reads it. */
  private static String pairRow(byte[] groupKey, int field) {
    int[] ends = new int[GroupKey.FIELDS_WITH_WORKSPACE];
    GroupKey.appendFields(groupKey, new TabSeparated(8), ends);
    TabSeparated out = new TabSeparated(8);
    UsageDailyRow.appendPairRow(
        out,
        groupKey,
        GroupKey.PREFIX,
        ends[GroupKey.ACCOUNT],
        groupKey,
        GroupKey.fieldStart(ends, field),
        ends[field]);
    return new String(out.toByteArray(), StandardCharsets.UTF_8);
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
