package io.tallyhouse.query;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.core.StreamWriteFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ActivityItemTest {

  private static final ObjectMapper JSON = JsonMapper.builder()
      .enable(StreamWriteFeature.WRITE_BIGDECIMAL_AS_PLAIN).build();

  private static ActivityItem item(String date, String endpoint, String user, String key, String usage) {
    return new ActivityItem(LocalDate.parse(date), "m", "m", endpoint, "p", user, key, new BigDecimal(usage),
        BigDecimal.ZERO, BigInteger.ONE, BigInteger.ONE, BigInteger.ONE, BigInteger.ZERO, BigInteger.ZERO,
        BigInteger.ZERO);
  }

  @Test
  void orderIsDateDescUsageDescThenEndpointUserKeyAscWithNoUserFirst() {
    List<ActivityItem> expected = List.of(
        item("2026-11-21", "z", null, null, "123456789.123456789013"),
        item("2026-11-21", "a", null, null, "123456789.123456789012"),
        item("2026-11-21", "a", null, "k1", "1"),
        item("2026-11-21", "a", null, "k2", "1"),
        item("2026-11-21", "a", "a", "k1", "1"),
        item("2026-11-21", "a", "b", "k1", "1"),
        item("2026-11-21", "b", null, null, "1.0"),
        item("2026-11-20", "a", null, null, "0.000000000001"),
        item("2026-11-20", "a", null, null, "0"));
    List<ActivityItem> shuffled = new ArrayList<>(expected);
    java.util.Collections.reverse(shuffled);
    shuffled.sort(ActivityItem.ORDER);
    assertEquals(expected, shuffled);
  }

  @Test
  void moneyIsWrittenAsAPlainNumberWithoutTrailingZeros() throws Exception {
    String[][] cases = {
        {"0.000000000001", "0.000000000001"}, {"0E-12", "0"}, {"0.000000000000", "0"},
        {"123456789.123456789012", "123456789.123456789012"}, {"1.500000000000", "1.5"}, {"100.000000000000", "100"},
        {"12345678901234567890123456.000000000001", "12345678901234567890123456.000000000001"}};
    for (String[] c : cases) {
      ObjectNode node = JSON.createObjectNode();
      item("2026-11-21", "e", "u", "k", c[0]).writeTo(node, false, false);
      String text = JSON.writeValueAsString(node);
      assertEquals(true, text.contains("\"usage\":" + c[1] + ","), c[0] + " -> " + text);
    }
  }

  @Test
  void itemHasExactlyTheContractFieldsPlusTheGroupings() {
    ObjectNode plain = JSON.createObjectNode();
    item("2026-11-21", "e", "u", "k", "1").writeTo(plain, false, false);
    assertEquals(List.of("date", "model", "model_permaslug", "endpoint_id", "provider_name", "usage",
        "byok_usage_inference", "requests", "prompt_tokens", "completion_tokens", "reasoning_tokens",
        "cached_tokens", "byok_requests"), fieldNames(plain));

    ObjectNode grouped = JSON.createObjectNode();
    item("2026-11-21", "e", null, "k", "1").writeTo(grouped, true, true);
    assertEquals(true, grouped.get("user_id").isNull());
    assertEquals("k", grouped.get("api_key_hash").asText());
    assertEquals(15, grouped.size());
  }

  private static List<String> fieldNames(ObjectNode node) {
    List<String> names = new ArrayList<>();
    node.fieldNames().forEachRemaining(names::add);
    return names;
  }
}
