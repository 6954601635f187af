package io.tallyhouse.query;

import io.tallyhouse.common.auth.CredentialKind;
import io.tallyhouse.common.auth.CredentialStore;
import io.tallyhouse.common.auth.Secrets;
import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.SqlLiteral;
import io.tallyhouse.testkit.ClickHouseEndpoint;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

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

  /** A database name no other test class uses: {@code prefix_} and 16 random hex digits. */
  static String newDatabase(String prefix) {
    byte[] random = new byte[8];
    ThreadLocalRandom.current().nextBytes(random);
    return prefix + "_" + HexFormat.of().formatHex(random);
  }

  /** Drops a test class's database and closes its client; null (the setup failed early) is nothing to do. */
  static void dropDatabase(ClickHouse clickHouse, String database) {
    if (clickHouse != null) {
      clickHouse.execute("DROP DATABASE IF EXISTS " + SqlLiteral.identifier(database));
      clickHouse.close();
    }
  }

  /** An empty key file in a new temporary folder named after {@code test}. */
  static CredentialStore newKeyStore(String test) throws IOException {
    return new CredentialStore(Files.createTempDirectory(test).resolve("keys.jsonl"));
  }

  /** A new secret of {@code kind} stored in {@code keys}; returns the secret. */
  static String newKey(CredentialStore keys, CredentialKind kind, String account) {
    String secret = Secrets.generate(kind.secretPrefix());
    keys.add(secret, kind, account, List.of(), "test");
    return secret;
  }
}
