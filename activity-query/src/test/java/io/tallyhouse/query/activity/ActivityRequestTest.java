package io.tallyhouse.query.activity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.LocalDate;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Parameter rules of GET /api/v1/activity, without a server. */
class ActivityRequestTest {

  private static final LocalDate TODAY = LocalDate.parse("2026-11-22");
  private static final String HASH = "ab".repeat(32);

  private static ActivityRequest parse(String... nameValuePairs) {
    Map<String, List<String>> params = new HashMap<>();
    for (int i = 0; i < nameValuePairs.length; i += 2) {
      params
          .computeIfAbsent(nameValuePairs[i], n -> new java.util.ArrayList<>())
          .add(nameValuePairs[i + 1]);
    }
    return ActivityRequest.parse(params, TODAY);
  }

  private static String rejected(String... nameValuePairs) {
    return assertThrows(InvalidParameterException.class, () -> parse(nameValuePairs)).getMessage();
  }

  @Test
  void noParametersReadsTheThirtyCompletedDays() {
    ActivityRequest request = parse();
    assertEquals(LocalDate.parse("2026-10-23"), request.from());
    assertEquals(LocalDate.parse("2026-11-21"), request.to());
    assertEquals(Optional.empty(), request.apiKeyHash());
    assertEquals(Optional.empty(), request.userId());
    assertFalse(request.groupByUser());
    assertFalse(request.groupByApiKey());
  }

  @ParameterizedTest
  @ValueSource(strings = {"2026-10-23", "2026-11-21", "2026-11-01"})
  void dateInsideTheWindowReadsThatDayOnly(String date) {
    ActivityRequest request = parse("date", date);
    assertEquals(LocalDate.parse(date), request.from());
    assertEquals(LocalDate.parse(date), request.to());
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "2026-10-22",
        "2026-11-22",
        "2026-11-23",
        "1970-01-01",
        "",
        "2026-11-1",
        "2026-1-01",
        "26-11-01",
        "2026/11/01",
        "20261101",
        "2026-11-01T00:00:00",
        "2026-11-01 ",
        " 2026-11-01",
        "+2026-11-01",
        "2026-02-30",
        "2026-13-01",
        "2026-11-00",
        "٢٠٢٦-١١-٠١",
        "2026-11-01' OR 1=1 --",
        "2026-11-01\u0000"
      })
  void dateOutsideTheWindowOrMalformedIsRefusedWithTheContractMessage(String date) {
    assertEquals("Date must be within the last 30 (completed) UTC days", rejected("date", date));
  }

  @Test
  void apiKeyHashIsLowercased() {
    assertEquals(Optional.of(HASH), parse("api_key_hash", HASH.toUpperCase()).apiKeyHash());
    assertEquals(Optional.of(HASH), parse("api_key_hash", HASH).apiKeyHash());
  }

  static List<String> malformedHashes() {
    return List.of(
        "",
        "xyz",
        "ab",
        "g" + "a".repeat(63),
        "a".repeat(63),
        "a".repeat(65),
        " " + "a".repeat(64),
        "a".repeat(64) + "\n",
        "' OR 1=1 --",
        "١".repeat(64),
        "ａ".repeat(64),
        "a".repeat(10_240));
  }

  @ParameterizedTest
  @MethodSource("malformedHashes")
  void malformedApiKeyHashIsRefused(String hash) {
    assertTrue(rejected("api_key_hash", hash).contains("api_key_hash"));
  }

  @Test
  void userIdKeepsItsExactText() {
    assertEquals(Optional.of("ü'ser \\ 1"), parse("user_id", "ü'ser \\ 1").userId());
    assertEquals(Optional.of("' OR 1=1 --"), parse("user_id", "' OR 1=1 --").userId());
    assertEquals(Optional.of(" spaced "), parse("user_id", " spaced ").userId());
  }

  @Test
  void userIdLengthCountsCodePoints() {
    String emoji256 = "😀".repeat(256);
    assertEquals(Optional.of(emoji256), parse("user_id", emoji256).userId());
    assertTrue(rejected("user_id", "😀".repeat(257)).contains("user_id"));
    assertEquals(Optional.of("x".repeat(256)), parse("user_id", "x".repeat(256)).userId());
    assertTrue(rejected("user_id", "x".repeat(257)).contains("user_id"));
    assertTrue(rejected("user_id", "x".repeat(10_240)).contains("user_id"));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {"", "a\u0000b", "line\nbreak", "tab\t", "\u007f", "\u0085", "\ud800", "x\udc00y"})
  void emptyOrControlOrBrokenUserIdIsRefused(String user) {
    assertTrue(rejected("user_id", user).contains("user_id"));
  }

  @Test
  void workspaceIdFollowsTheEventFieldsRuleAndKeepsDefaultAsShown() {
    assertEquals(Optional.empty(), parse().workspaceId());
    for (String id :
        List.of("default", "ws-1", "a.b_c:d-E9", "x".repeat(128), "00000000-0000-0000")) {
      assertEquals(Optional.of(id), parse("workspace_id", id).workspaceId());
    }
    assertEquals(Optional.of(""), parse("workspace_id", "default").storedWorkspaceId());
    assertEquals(Optional.of("ws-1"), parse("workspace_id", "ws-1").storedWorkspaceId());
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "a'b", "a\\b", "a b", "ws/1", "ümlaut", "a\u0000", "' OR 1=1 --"})
  void workspaceIdOutsideTheRuleIsRefusedWithoutEchoingIt(String id) {
    String message = rejected("workspace_id", id);
    assertTrue(message.startsWith("Parameter workspace_id must be 1-128 characters"), message);
    assertFalse(!id.isEmpty() && message.contains(id), message);
  }

  @Test
  void workspaceIdOfMoreThan128CharactersIsRefused() {
    assertTrue(rejected("workspace_id", "x".repeat(129)).startsWith("Parameter workspace_id "));
  }

  @Test
  void groupByWorkspaceCombinesWithUserAndApiKeyInAnyOrder() {
    assertEquals(
        new ActivityRequest.Grouping(true, false, false),
        parse("group_by", "workspace").grouping());
    for (String all :
        List.of("workspace,user,api_key", "api_key,workspace,user", "user,api_key,workspace")) {
      assertEquals(
          new ActivityRequest.Grouping(true, true, true), parse("group_by", all).grouping());
    }
    assertEquals(
        new ActivityRequest.Grouping(true, true, false),
        parse("group_by", "user,workspace").grouping());
    assertEquals(ActivityRequest.Grouping.NONE, parse().grouping());
  }

  @Test
  void groupByAcceptsUserAndApiKeyInEitherOrder() {
    ActivityRequest user = parse("group_by", "user");
    assertTrue(user.groupByUser());
    assertFalse(user.groupByApiKey());
    ActivityRequest key = parse("group_by", "api_key");
    assertFalse(key.groupByUser());
    assertTrue(key.groupByApiKey());
    for (String both : List.of("user,api_key", "api_key,user")) {
      ActivityRequest request = parse("group_by", both);
      assertTrue(request.groupByUser());
      assertTrue(request.groupByApiKey());
    }
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "",
        ",",
        "user,",
        ",user",
        "user,user",
        "api_key,api_key",
        "users",
        "USER",
        "user, api_key",
        "date",
        "endpoint",
        "user;api_key",
        "user,api_key,user",
        "workspace,workspace",
        "Workspace",
        "workspaces",
        "workspace_id",
        "' OR 1=1 --"
      })
  void unknownOrRepeatedGroupingIsRefused(String groupBy) {
    assertTrue(rejected("group_by", groupBy).contains("group_by"));
  }

  @ParameterizedTest
  @ValueSource(strings = {"date", "workspace_id", "api_key_hash", "user_id", "group_by"})
  void repeatedParameterIsRefused(String name) {
    String value =
        switch (name) {
          case "date" -> "2026-11-01";
          case "api_key_hash" -> HASH;
          case "user_id" -> "u";
          case "workspace_id" -> "ws-1";
          default -> "user";
        };
    assertEquals(
        "Parameter " + name + " must be given at most once", rejected(name, value, name, value));
  }

  @Test
  void unknownParametersAreIgnored() {
    ActivityRequest request = parse("foo", "bar", "Date", "nonsense", "limit", "1", "foo", "baz");
    assertEquals(parse(), request);
  }

  @Test
  void windowFollowsTheUtcDayOfToday() {
    ActivityRequest request = ActivityRequest.parse(Map.of(), LocalDate.parse("2024-03-01"));
    assertEquals(LocalDate.parse("2024-01-31"), request.from());
    assertEquals(LocalDate.parse("2024-02-29"), request.to());
  }
}
