package io.tallyhouse.common.clickhouse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tallyhouse.common.config.PipelineSettings;
import io.tallyhouse.common.config.Settings;
import io.tallyhouse.testkit.SecuredClickHouse;
import io.tallyhouse.testkit.TlsCertificates;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The client over https with password users on a real server: the certificate is checked against
 * CLICKHOUSE_CA_CERT and must name the URL's host, a wrong password and an untrusted certificate
 * say which variable to change, and a read-only user reads but cannot write.
 */
class ClickHouseSecurityIntegrationTest {

  private static final String DATABASE = "security_test";

  @TempDir static Path dir;
  private static SecuredClickHouse server;

  @BeforeAll
  static void start() {
    server = SecuredClickHouse.start(dir);
    try (ClickHouse writer = connect(SecuredClickHouse.WRITER)) {
      writer.createDatabaseIfMissing();
      writer.execute(
          "CREATE TABLE IF NOT EXISTS notes (id UInt32, text String) ENGINE = MergeTree ORDER BY id");
    }
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  private static ClickHouse connect(String user) {
    return new ClickHouse(
        PipelineSettings.clickHouse(Settings.of(server.serviceEnvironment(user, DATABASE))));
  }

  @Test
  void aPasswordUserWritesAndReadsOverTls() {
    try (ClickHouse writer = connect(SecuredClickHouse.WRITER)) {
      writer.insertJsonEachRow(
          "notes", "{\"id\":1,\"text\":\"over tls\"}\n".getBytes(StandardCharsets.UTF_8));
      List<String> texts =
          writer.query("SELECT text FROM notes WHERE id = 1").stream()
              .map(row -> row.path("text").asText())
              .toList();
      assertEquals(List.of("over tls"), texts);
    }
  }

  @Test
  void theReadOnlyUserReadsButCannotWrite() {
    try (ClickHouse writer = connect(SecuredClickHouse.WRITER)) {
      writer.insertJsonEachRow(
          "notes", "{\"id\":2,\"text\":\"readable\"}\n".getBytes(StandardCharsets.UTF_8));
    }
    try (ClickHouse reader = connect(SecuredClickHouse.READER)) {
      assertEquals(
          "readable",
          reader.query("SELECT text FROM notes WHERE id = 2").get(0).path("text").asText());
      // 18.16's error bodies are unreadable to client-v2, so only current servers' messages
      // say "read-only"; the refusal itself is what matters here.
      assertThrows(
          ClickHouseException.class,
          () ->
              reader.insertJsonEachRow(
                  "notes", "{\"id\":3,\"text\":\"no\"}\n".getBytes(StandardCharsets.UTF_8)));
      assertThrows(ClickHouseException.class, () -> reader.execute("DROP TABLE notes"));
      assertThrows(
          ClickHouseException.class,
          () -> reader.execute("CREATE TABLE other (x UInt8) ENGINE = Memory"));
    }
    try (ClickHouse writer = connect(SecuredClickHouse.WRITER)) {
      assertTrue(writer.query("SELECT id FROM notes WHERE id = 3").isEmpty(), "nothing written");
      assertEquals(
          1,
          writer
              .query(
                  "SELECT count() AS n FROM system.tables WHERE database = 'security_test'"
                      + " AND name = 'notes'")
              .get(0)
              .path("n")
              .asInt(),
          "the table is still there");
    }
  }

  @Test
  void aWrongPasswordNamesTheUrlAndTheUser() {
    String wrong = "not-the-password-" + System.nanoTime();
    try (ClickHouse client =
        new ClickHouse(
            new ClickHouseConfig(
                server.httpsUrl(),
                SecuredClickHouse.WRITER,
                wrong,
                DATABASE,
                null,
                server.caCertificate()))) {
      ClickHouseException e =
          assertThrows(ClickHouseException.class, () -> client.query("SELECT 1 AS one"));
      assertTrue(e.getMessage().contains("CLICKHOUSE_URL=" + server.httpsUrl()), e.getMessage());
      assertTrue(e.getMessage().contains("refused CLICKHOUSE_USER=writer"), e.getMessage());
      assertFalse(e.getMessage().contains(wrong), "the password is never in the message");
    }
  }

  @Test
  void aCertificateNotSignedByTheGivenCaIsRefused() {
    // Without CLICKHOUSE_CA_CERT the JVM's default authorities are used; none signed this one.
    try (ClickHouse client =
        new ClickHouse(
            new ClickHouseConfig(
                server.httpsUrl(),
                SecuredClickHouse.WRITER,
                server.password(SecuredClickHouse.WRITER),
                DATABASE))) {
      ClickHouseException e =
          assertThrows(ClickHouseException.class, () -> client.query("SELECT 1 AS one"));
      assertTrue(
          e.getMessage().contains("CLICKHOUSE_URL=" + server.httpsUrl() + " is not trusted"),
          e.getMessage());
      assertTrue(e.getMessage().contains("CLICKHOUSE_CA_CERT"), e.getMessage());
    }
  }

  @Test
  void aCertificateForAnotherHostIsRefused() {
    String byAddress = server.httpsUrl().replace(TlsCertificates.LOCAL_HOST, "127.0.0.1");
    try (ClickHouse client =
        new ClickHouse(
            new ClickHouseConfig(
                byAddress,
                SecuredClickHouse.WRITER,
                server.password(SecuredClickHouse.WRITER),
                DATABASE,
                null,
                server.caCertificate()))) {
      ClickHouseException e =
          assertThrows(ClickHouseException.class, () -> client.query("SELECT 1 AS one"));
      assertTrue(
          e.getMessage().contains("does not name the host in CLICKHOUSE_URL=" + byAddress),
          e.getMessage());
    }
  }
}
