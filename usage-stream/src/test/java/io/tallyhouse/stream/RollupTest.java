package io.tallyhouse.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import io.tallyhouse.schemas.avro.UsageEvent;
import java.math.BigDecimal;
import java.time.LocalDate;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** The rollup store's binary totals and the usage_daily row built from a group key. */
class RollupTest {

  @ParameterizedTest
  @ValueSource(strings = {"0", "0.000000000001", "1", "123456789.123456789012",
      "99999999999999999999999999.999999999999"})
  void totalsSurviveTheStoreFormatExactly(String amount) {
    BigDecimal money = new BigDecimal(amount).setScale(Totals.SCALE);
    Totals totals = new Totals(Long.MAX_VALUE, 1, 2, 3, 4, money, money, 5, 6);
    Totals back = Totals.fromBytes(totals.toBytes());
    assertEquals(totals, back);
    assertEquals(money.toPlainString(), back.usage().toPlainString());
  }

  @Test
  void truncatedOrOverlongStoreBytesAreRefused() {
    byte[] bytes = Totals.plus(null, Events.event("acme", "1", "2026-11-20T10:00:00Z", null, "1")).toBytes();
    assertThrows(IllegalArgumentException.class,
        () -> Totals.fromBytes(java.util.Arrays.copyOf(bytes, bytes.length - 1)));
    assertThrows(IllegalArgumentException.class,
        () -> Totals.fromBytes(java.util.Arrays.copyOf(bytes, bytes.length + 1)));
  }

  @Test
  void aGroupKeyGivesBackEveryFieldOfItsRow() throws Exception {
    UsageEvent e = Events.event("beta.corp:eu-1", "1", "2026-11-20T23:59:59.999Z", null, "0.000043022187");
    Totals totals = Totals.plus(Totals.plus(null, e), e);
    Rollup rollup = Rollup.of(Rollup.groupKey(e), totals);
    assertEquals("beta.corp:eu-1", rollup.accountId());
    assertEquals(LocalDate.parse("2026-11-20"), rollup.date());
    assertEquals("", rollup.userId(), "no user is ''");
    assertEquals(Events.KEY_A, rollup.apiKeyHash());
    assertEquals("OpenAI/openai/gpt-4o-2024-08-06", rollup.endpointId());

    JsonNode row = Rollup.JSON.readTree(rollup.toJson(3, "2026-11-21 00:00:01"));
    assertEquals(3, row.get("shard").asInt());
    assertEquals(2, row.get("requests").asLong());
    assertEquals(2, row.get("version").asLong());
    assertEquals("0.000086044374", row.get("usage").decimalValue().toPlainString());
    assertEquals("openai/gpt-4o-2024-08-06", row.get("model_permaslug").asText());
    assertEquals("OpenAI", row.get("provider_name").asText());
  }

  @Test
  void somethingThatIsNotAGroupKeyIsRefused() {
    Totals totals = Totals.plus(null, Events.event("acme", "1", "2026-11-20T10:00:00Z", null, "1"));
    assertThrows(IllegalArgumentException.class, () -> Rollup.of("acme\u001f2026-11-20", totals));
  }
}
