package io.tallyhouse.query;

import io.tallyhouse.common.auth.CredentialKind;
import io.tallyhouse.common.auth.CredentialStore;
import io.tallyhouse.common.auth.Secrets;
import io.tallyhouse.testkit.ClickHouseEndpoint;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** The environment of an activity-query under test, and its keys: shared by the module's integration tests. */
final class QueryTestEnv {

  private QueryTestEnv() {}

  /** A service on any free port, reading {@code keysFile}, with its own database on the server at {@code url}. */
  static Map<String, String> of(String url, ClickHouseEndpoint endpoint, String database, Path keysFile) {
    Map<String, String> env = new HashMap<>();
    env.put("CLICKHOUSE_URL", url);
    env.put("CLICKHOUSE_USER", endpoint.user());
    env.put("CLICKHOUSE_PASSWORD", endpoint.password());
    env.put("CLICKHOUSE_DATABASE", database);
    env.put("KEYS_FILE", keysFile.toString());
    env.put("HTTP_PORT", "0");
    return env;
  }

  static Map<String, String> of(ClickHouseEndpoint endpoint, String database, Path keysFile) {
    return of(endpoint.httpUrl(), endpoint, database, keysFile);
  }

  /** A new secret of {@code kind} stored in {@code keys}; returns the secret. */
  static String newKey(CredentialStore keys, CredentialKind kind, String account) {
    String secret = Secrets.generate(kind.secretPrefix());
    keys.add(secret, kind, account, List.of(), "test");
    return secret;
  }
}
