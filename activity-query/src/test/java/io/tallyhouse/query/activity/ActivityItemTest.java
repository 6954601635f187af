package io.tallyhouse.query.activity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.StringWriter;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ActivityItemTest {

  // A plain mapper: the item itself must never write an exponent, whatever the mapper's settings.
  private static final ObjectMapper JSON = new ObjectMapper();

  private static ActivityItem item(
      String date, String endpoint, String user, String key, String usage) {
    return item(date, endpoint, null, user, key, usage);
  }

  private static ActivityItem item(
      String date, String endpoint, String workspace, String user, String key, String usage) {
    return new ActivityItem(
        LocalDate.parse(date),
        "m",
        "m",
        endpoint,
        "p",
        workspace,
        user,
        key,
        new BigDecimal(usage),
        BigDecimal.ZERO,
        BigInteger.ONE,
        BigInteger.ONE,
        BigInteger.ONE,
        BigInteger.ZERO,
        BigInteger.ZERO,
        BigInteger.ZERO);
  }

  @Test
  void orderIsDateDescUsageDescThenEndpointWorkspaceUserKeyAscWithNoUserFirst() {
    List<ActivityItem> expected =
        List.of(
            item("2026-11-21", "z", null, null, "123456789.123456789013"),
            item("2026-11-21", "a", null, null, "123456789.123456789012"),
            item("2026-11-21", "a", null, "k1", "1"),
            item("2026-11-21", "a", null, "k2", "1"),
            item("2026-11-21", "a", "a", "k1", "1"),
            item("2026-11-21", "a", "b", "k1", "1"),
            item("2026-11-21", "a", "default", null, "k1", "1"),
            item("2026-11-21", "a", "ws-2", "a", "k1", "1"),
            item("2026-11-21", "b", "a-first", "z", null, "1.0"),
            item("2026-11-21", "b", "default", null, null, "1.0"),
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
      {"0.000000000001", "0.000000000001"},
      {"0E-12", "0"},
      {"0.000000000000", "0"},
      {"123456789.123456789012", "123456789.123456789012"},
      {"1.500000000000", "1.5"},
      {"100.000000000000", "100"},
      {"12345678901234567890123456.000000000001", "12345678901234567890123456.000000000001"}
    };
    for (String[] c : cases) {
      String text = written(item("2026-11-21", "e", "u", "k", c[0]), false, false);
      assertEquals(true, text.contains("\"usage\":" + c[1] + ","), c[0] + " -> " + text);
    }
    // Never an exponent, also where BigDecimal.toString would use one.
    assertEquals(
        true,
        written(item("2026-11-21", "e", "u", "k", "0.0000001"), false, false)
            .contains("\"usage\":0.0000001,"));
  }

  @Test
  void itemHasExactlyTheContractFieldsPlusTheGroupings() throws Exception {
    JsonNode plain = JSON.readTree(written(item("2026-11-21", "e", "u", "k", "1"), false, false));
    assertEquals(
        List.of(
            "date",
            "model",
            "model_permaslug",
            "endpoint_id",
            "provider_name",
            "usage",
            "byok_usage_inference",
            "requests",
            "prompt_tokens",
            "completion_tokens",
            "reasoning_tokens",
            "cached_tokens",
            "byok_requests"),
        fieldNames(plain));

    JsonNode grouped = JSON.readTree(written(item("2026-11-21", "e", null, "k", "1"), true, true));
    assertEquals(true, grouped.get("user_id").isNull());
    assertEquals("k", grouped.get("api_key_hash").asText());
    assertEquals(15, grouped.size());
    assertFalse(grouped.has("workspace_id"), "OpenRouter's historical shape without the grouping");

    JsonNode byWorkspace =
        JSON.readTree(
            written(
                item("2026-11-21", "e", "default", null, null, "1"),
                new ActivityRequest.Grouping(true, false, false)));
    assertEquals("default", byWorkspace.get("workspace_id").asText());
    assertEquals(14, byWorkspace.size());
  }

  private static String written(ActivityItem item, boolean withUser, boolean withApiKey)
      throws IOException {
    return written(item, new ActivityRequest.Grouping(false, withUser, withApiKey));
  }

  private static String written(ActivityItem item, ActivityRequest.Grouping grouping)
      throws IOException {
    StringWriter out = new StringWriter();
    try (JsonGenerator json = JSON.createGenerator(out)) {
      item.writeTo(json, grouping);
    }
    return out.toString();
  }

  private static List<String> fieldNames(JsonNode node) {
    List<String> names = new ArrayList<>();
    node.fieldNames().forEachRemaining(names::add);
    return names;
  }
}
