package io.tallyhouse.common.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

class BearerTokenTest {

  @Test
  void theSecretFollowsTheSchemeInAnyCase() {
    assertEquals("th_abc", BearerToken.secret("Bearer th_abc"));
    assertEquals("th_abc", BearerToken.secret("bearer th_abc"));
    assertEquals("th_abc", BearerToken.secret("  BEARER   th_abc  "));
  }

  @Test
  void missingOtherSchemeOrEmptySecretIsNoSecret() {
    assertNull(BearerToken.secret(null));
    assertNull(BearerToken.secret(""));
    assertNull(BearerToken.secret("Bearer"));
    assertNull(BearerToken.secret("Bearer    "));
    assertNull(BearerToken.secret("Basic dXNlcjpwdw=="));
    assertNull(BearerToken.secret("Bearerth_abc"));
  }
}
