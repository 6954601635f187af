package io.tallyhouse.testkit;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * A {@link ClickHouseServer} reached over https with password users: {@code writer} (may write and
 * change the schema) and {@code reader} (read-only), each with a password made for this start, and
 * the certificate authority the clients are given as a PEM file.
 */
public final class SecuredClickHouse implements AutoCloseable {

  public static final String WRITER = "writer";
  public static final String READER = "reader";
  private static final String SERVER = "clickhouse";

  private final ClickHouseServer server;
  private final TlsCertificates certificates;
  private final Map<String, String> passwords;

  private SecuredClickHouse(
      ClickHouseServer server, TlsCertificates certificates, Map<String, String> passwords) {
    this.server = server;
    this.certificates = certificates;
    this.passwords = passwords;
  }

  /** Starts one in {@code dir} (certificates, configuration and data). */
  public static SecuredClickHouse start(Path dir) {
    TlsCertificates certificates =
        TlsCertificates.in(dir.resolve("tls"), "store-" + UUID.randomUUID())
            .keyPair(SERVER, TlsCertificates.LOCAL_HOST, TlsCertificates.LOCAL_SERVER_NAMES);
    Map<String, String> passwords =
        Map.of(WRITER, WRITER + "-" + UUID.randomUUID(), READER, READER + "-" + UUID.randomUUID());
    ClickHouseServer server =
        ClickHouseServer.start(
            dir.resolve("server"),
            Ports.freePort(),
            Ports.freePort(),
            new ClickHouseServer.Secured(
                Ports.freePort(),
                certificates,
                SERVER,
                List.of(
                    new ClickHouseServer.User(WRITER, passwords.get(WRITER), false),
                    new ClickHouseServer.User(READER, passwords.get(READER), true))));
    return new SecuredClickHouse(server, certificates, passwords);
  }

  /** The https endpoint; its host is the one name the certificate carries. */
  public String httpsUrl() {
    return server.httpsUrl();
  }

  public String password(String user) {
    String password = passwords.get(user);
    if (password == null) {
      throw new IllegalArgumentException("no ClickHouse user " + user);
    }
    return password;
  }

  /** The PEM file with the certificate authority (here the self-signed server certificate). */
  public Path caCertificate() {
    return certificates.certificate(SERVER);
  }

  /** The CLICKHOUSE_* variables a service connecting as {@code user} over https is given. */
  public Map<String, String> serviceEnvironment(String user, String database) {
    return Map.of(
        "CLICKHOUSE_URL",
        httpsUrl(),
        "CLICKHOUSE_USER",
        user,
        "CLICKHOUSE_PASSWORD",
        password(user),
        "CLICKHOUSE_CA_CERT",
        caCertificate().toString(),
        "CLICKHOUSE_DATABASE",
        database);
  }

  @Override
  public void close() {
    server.stop();
  }
}
