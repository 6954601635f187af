package io.tallyhouse.query.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.tallyhouse.common.auth.CredentialKind;
import io.tallyhouse.common.auth.CredentialStore;
import io.tallyhouse.common.auth.Secrets;
import io.tallyhouse.query.activity.ActivityRequest;
import io.tallyhouse.query.auth.ManagementKeys;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The checks in the contract's order: key (401/403), then parameters (400), then workspace and api
 * key ownership (404).
 */
class RequestCheckTest {

  private static final String HASH = "ab".repeat(32);
  private static final Clock CLOCK =
      Clock.fixed(Instant.parse("2026-11-22T00:00:01Z"), ZoneOffset.UTC);

  @TempDir Path dir;

  private RequestCheck check;
  private String management;
  private String ingest;

  @BeforeEach
  void keys() {
    CredentialStore store = new CredentialStore(dir.resolve("keys.jsonl"));
    management = Secrets.generate(CredentialKind.MANAGEMENT.secretPrefix());
    ingest = Secrets.generate(CredentialKind.INGEST.secretPrefix());
    store.add(management, CredentialKind.MANAGEMENT, "acme", List.of(), "test");
    store.add(ingest, CredentialKind.INGEST, null, List.of(), "test");
    check = new RequestCheck(new ManagementKeys(store), CLOCK);
  }

  private RequestCheck.Checked<ActivityRequest> check(String authorization, String query) {
    return check.check(
        authorization,
        QueryString.parseOrNull(query),
        ActivityRequest::parse,
        (filter, account, value) -> false);
  }

  private static void assertRefused(int status, String message, RequestCheck.Checked<?> checked) {
    assertEquals(status, checked.refusal().status());
    assertEquals(message, checked.refusal().body());
  }

  @Test
  void theKeyIsCheckedBeforeTheParameters() {
    assertRefused(401, "Missing API key", check(null, "date=bad"));
    assertRefused(401, "Invalid or revoked API key", check("Bearer nope", "date=bad"));
    assertRefused(403, "A management key is required", check("Bearer " + ingest, "user_id=%zz"));
  }

  @Test
  void theParametersAreCheckedBeforeTheApiKeyOwnership() {
    assertRefused(
        400,
        "Malformed query string",
        check("Bearer " + management, "api_key_hash=" + HASH + "&x=%zz"));
    assertEquals(
        400,
        check("Bearer " + management, "api_key_hash=" + HASH + "&date=1999-01-01")
            .refusal()
            .status());
    assertRefused(
        404,
        "Parameter api_key_hash: no such api key for this account",
        check("Bearer " + management, "api_key_hash=" + HASH));
    assertEquals(
        400,
        check("Bearer " + management, "workspace_id=a'b&api_key_hash=" + HASH).refusal().status());
    assertRefused(
        404,
        "Parameter workspace_id: no such workspace for this account",
        check("Bearer " + management, "workspace_id=ws-1&api_key_hash=" + HASH));
  }

  @Test
  void aValidRequestCarriesTheKeysAccountAndTheParsedParameters() {
    RequestCheck.Checked<ActivityRequest> checked =
        check.check(
            "Bearer " + management,
            QueryString.parseOrNull("date=2026-11-21&api_key_hash=" + HASH),
            ActivityRequest::parse,
            (filter, account, value) -> account.equals("acme") && value.equals(HASH));
    assertNull(checked.refusal());
    assertEquals("acme", checked.account());
    assertEquals(
        ActivityRequest.parse(
            Map.of("date", List.of("2026-11-21"), "api_key_hash", List.of(HASH)),
            LocalDate.parse("2026-11-22")),
        checked.request());
  }
}
