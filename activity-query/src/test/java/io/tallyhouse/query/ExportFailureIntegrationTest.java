package io.tallyhouse.query;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.core.read.ListAppender;
import io.tallyhouse.common.auth.CredentialKind;
import io.tallyhouse.common.auth.CredentialStore;
import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.ClickHouseConfig;
import io.tallyhouse.query.http.ActivityRouter;
import io.tallyhouse.testkit.ClickHouseEndpoint;
import io.tallyhouse.testkit.Infra;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * The export when ClickHouse fails (real ClickHouse behind {@link FlakyClickHouseProxy}, own
 * database): a CSV cut in the middle must never reach the client as a complete-looking file, a JSON
 * page is a generic 500, the failure is logged without secrets and counted, and the service goes on
 * serving.
 */
class ExportFailureIntegrationTest {

  private static final HttpClient HTTP =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  private static final String ACME = "acme";
  private static final String BETA = "beta";
  private static final String ACME_KEY_HASH = "a1".repeat(32);
  private static final String BETA_KEY_HASH = "c3".repeat(32);
  private static final String BETA_USER = "only-beta-has-this-user";
  private static final Instant NOW = Instant.parse("2026-11-22T00:00:05Z");

  /** Ten acme users on one day: with pages of 4 rows the CSV takes three keyset pages. */
  private static final int ACME_USERS = 10;

  private static final String CSV_QUERY =
      "from=2026-11-01&to=2026-11-21&group_by=date,user,api_key,endpoint&format=csv";
  private static final String GENERIC_500 =
      "{\"error\":{\"code\":500,\"message\":\"Internal server error\"}}";

  private static String database;
  private static ClickHouse clickHouse;
  private static FlakyClickHouseProxy proxy;
  private static ActivityServer server;
  private static String acmeKey;

  private ListAppender<ILoggingEvent> logs;

  @BeforeAll
  static void start() throws Exception {
    ClickHouseEndpoint endpoint = Infra.clickhouse();
    database = QueryTestEnv.newDatabase("aqf");
    CredentialStore keys = QueryTestEnv.newKeyStore("activity-export-failure-test");
    acmeKey = QueryTestEnv.newKey(keys, CredentialKind.MANAGEMENT, ACME);
    QueryTestEnv.newKey(keys, CredentialKind.MANAGEMENT, BETA);
    proxy = new FlakyClickHouseProxy(endpoint.httpUrl());
    // CSV pages of 4 rows, so a CSV spans several keyset pages and ClickHouse can fail after the
    // first.
    server =
        ActivityServer.start(
            QueryTestEnv.config(QueryTestEnv.of(proxy.url(), endpoint, database, keys.file())),
            Clock.fixed(NOW, ZoneOffset.UTC),
            4);
    clickHouse =
        new ClickHouse(
            new ClickHouseConfig(
                endpoint.httpUrl(), endpoint.user(), endpoint.password(), database));
    List<String> rows = new ArrayList<>();
    for (int i = 0; i < ACME_USERS; i++) {
      rows.add(
          ExportApiIntegrationTest.row(
              ACME,
              "2026-11-21",
              ACME_KEY_HASH,
              "user-" + i,
              QueryTestEnv.OPENAI,
              i + 1,
              "1." + i,
              1));
    }
    // Beta sorts among acme's rows (its user and key would fall on the second and third pages).
    rows.add(
        ExportApiIntegrationTest.row(
            BETA, "2026-11-21", BETA_KEY_HASH, BETA_USER, QueryTestEnv.OPENAI, 99, "777.777", 1));
    rows.add(
        ExportApiIntegrationTest.row(
            BETA, "2026-11-21", BETA_KEY_HASH, "user-5", QueryTestEnv.OPENAI, 98, "777.777", 1));
    clickHouse.insertJsonEachRow(
        "usage_daily", (String.join("\n", rows) + "\n").getBytes(StandardCharsets.UTF_8));
  }

  @AfterAll
  static void stop() {
    if (server != null) {
      server.close();
    }
    if (proxy != null) {
      proxy.close();
    }
    QueryTestEnv.dropDatabase(clickHouse, database);
  }

  @BeforeEach
  void captureLogs() {
    logs = new ListAppender<>();
    logs.start();
    rootLogger().addAppender(logs);
    proxy.recover();
  }

  @AfterEach
  void releaseLogs() {
    rootLogger().detachAppender(logs);
    proxy.recover();
  }

  private static Logger rootLogger() {
    return (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
  }

  // ---- a CSV cut after rows were sent
  // ----------------------------------------------------------------------

  @Test
  void clickHouseFailingInTheMiddleOfACsvCutsTheTransferInsteadOfEndingIt() throws Exception {
    Chunked complete = rawGet(CSV_QUERY);
    assertTrue(complete.terminated(), "the intact export ends with the last chunk");
    assertEquals(1 + ACME_USERS, ExportApiIntegrationTest.parseCsv(complete.body()).size());

    proxy.failAfter(1); // the first keyset page is read and sent, the second fails
    Chunked cut = rawGet(CSV_QUERY);
    assertTrue(cut.head().startsWith("HTTP/1.1 200"), cut.head());
    assertFalse(
        cut.terminated(), "no last chunk: the client cannot take the cut file for a whole one");
    assertTrue(
        cut.body().length() > 0 && complete.body().startsWith(cut.body()),
        "what arrived is the start of the real file: " + cut.body());
    assertTrue(
        cut.body().contains("user-0,"),
        "the first page was sent before the failure: " + cut.body());
    assertFalse(cut.body().contains("user-9,"), "nothing after the failure: " + cut.body());
    for (String other : List.of(BETA_USER, BETA_KEY_HASH, "777.777", ",98,", ",99,")) {
      assertFalse(
          cut.body().contains(other), "another account's value " + other + ": " + cut.body());
    }
  }

  @Test
  void anOrdinaryClientSeesTheCutCsvAsAnError() throws Exception {
    proxy.failAfter(1);
    // java.net.http reads chunked bodies strictly: a connection closed before the last chunk is an
    // IOException.
    assertThrows(
        IOException.class,
        () ->
            HTTP.send(
                request(ActivityRouter.EXPORT_ROUTE, CSV_QUERY),
                HttpResponse.BodyHandlers.ofString()));
  }

  @Test
  void aCutCsvIsLoggedWithoutSecretsCountedAndTheServiceGoesOn() throws Exception {
    double abortedBefore = aborted(metrics());
    proxy.failAfter(1);
    assertFalse(rawGet(CSV_QUERY).terminated());

    proxy.recover();
    // The same service answers the same export completely afterwards.
    HttpResponse<String> again =
        HTTP.send(
            request(ActivityRouter.EXPORT_ROUTE, CSV_QUERY), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, again.statusCode());
    assertEquals(1 + ACME_USERS, ExportApiIntegrationTest.parseCsv(again.body()).size());

    String metrics = metrics();
    assertEquals(
        abortedBefore + 1,
        aborted(metrics),
        "the cut request is counted as aborted, not as a 200: " + metrics);
    assertTrue(
        logs.list.stream()
            .anyMatch(
                e ->
                    e.getLevel().toString().equals("ERROR")
                        && e.getFormattedMessage().contains("export")),
        "the failure is logged");
    assertNoSecretLogged();
  }

  // ---- failures before anything was sent
  // -------------------------------------------------------------------

  @Test
  void jsonExportIsAGeneric500WhenClickHouseFails() throws Exception {
    String first = "from=2026-11-01&to=2026-11-21&group_by=user&limit=3";
    HttpResponse<String> page =
        HTTP.send(
            request(ActivityRouter.EXPORT_ROUTE, first), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, page.statusCode(), page.body());
    String cursor =
        ExportApiIntegrationTest.EXACT.readTree(page.body()).get("next_cursor").asText();

    proxy.fail();
    for (String query :
        List.of(first, first + "&cursor=" + cursor, first + "&api_key_hash=" + ACME_KEY_HASH)) {
      HttpResponse<String> failed =
          HTTP.send(
              request(ActivityRouter.EXPORT_ROUTE, query), HttpResponse.BodyHandlers.ofString());
      assertEquals(500, failed.statusCode(), query);
      assertEquals(
          GENERIC_500, failed.body(), "nothing of ClickHouse's message reaches the client");
    }
    assertNoSecretLogged();
  }

  @Test
  void csvExportFailingBeforeTheFirstRowIsAClean500() throws Exception {
    proxy.fail();
    HttpResponse<String> failed =
        HTTP.send(
            request(ActivityRouter.EXPORT_ROUTE, CSV_QUERY), HttpResponse.BodyHandlers.ofString());
    assertEquals(500, failed.statusCode());
    assertEquals(GENERIC_500, failed.body());
    assertTrue(
        failed.headers().firstValue("Content-Type").orElse("").startsWith("application/json"));
  }

  // ---- helpers
  // -----------------------------------------------------------------------------------------------

  private void assertNoSecretLogged() {
    assertFalse(logs.list.isEmpty(), "the failure is logged");
    for (ILoggingEvent event : logs.list) {
      StringBuilder text = new StringBuilder(event.getFormattedMessage());
      for (IThrowableProxy t = event.getThrowableProxy(); t != null; t = t.getCause()) {
        text.append('\n').append(t.getClassName()).append(": ").append(t.getMessage());
      }
      assertFalse(text.toString().contains(acmeKey), "the management key is in the log: " + text);
      assertFalse(
          text.toString().toLowerCase(Locale.ROOT).contains("bearer"),
          "an Authorization header: " + text);
    }
  }

  private static HttpRequest request(String path, String query) {
    return HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + server.port() + path + "?" + query))
        .header("Authorization", "Bearer " + acmeKey)
        .build();
  }

  private static String metrics() throws Exception {
    return HTTP.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/metrics"))
                .build(),
            HttpResponse.BodyHandlers.ofString())
        .body();
  }

  /** How many exports were cut after rows were sent (0 before the first). */
  private static double aborted(String metrics) {
    String series =
        "http_server_requests_seconds_count{route=\""
            + ActivityRouter.EXPORT_ROUTE
            + "\",status=\""
            + ActivityRouter.ABORTED
            + "\"} ";
    for (String line : metrics.split("\n")) {
      if (line.startsWith(series)) {
        return Double.parseDouble(line.substring(series.length()).trim());
      }
    }
    return 0;
  }

  /**
   * What a client read off the wire: the head, the de-chunked body, and whether the last (empty)
   * chunk came.
   */
  private record Chunked(String head, String body, boolean terminated) {}

  /**
   * The export read from a plain socket until the server closes it ({@code Connection: close}), so
   * a cut transfer and a complete one can be told apart exactly: only a complete one ends with the
   * zero-length chunk.
   */
  private static Chunked rawGet(String query) throws IOException {
    ByteArrayOutputStream received = new ByteArrayOutputStream();
    try (Socket socket = new Socket("127.0.0.1", server.port())) {
      socket.setSoTimeout(30_000);
      socket
          .getOutputStream()
          .write(
              ("GET "
                      + ActivityRouter.EXPORT_ROUTE
                      + "?"
                      + query
                      + " HTTP/1.1\r\n"
                      + "Host: 127.0.0.1\r\nAuthorization: Bearer "
                      + acmeKey
                      + "\r\nConnection: close\r\n\r\n")
                  .getBytes(StandardCharsets.ISO_8859_1));
      InputStream in = socket.getInputStream();
      byte[] buffer = new byte[8192];
      try {
        for (int n; (n = in.read(buffer)) >= 0; ) {
          received.write(buffer, 0, n);
        }
      } catch (IOException reset) {
        // A reset connection is one of the ways a cut transfer ends; what arrived before it counts.
      }
    }
    byte[] bytes = received.toByteArray();
    String all = new String(bytes, StandardCharsets.ISO_8859_1);
    int headEnd = all.indexOf("\r\n\r\n");
    assertTrue(headEnd > 0, "no response head: " + all);
    String head = all.substring(0, headEnd);
    assertTrue(head.toLowerCase(Locale.ROOT).contains("transfer-encoding: chunked"), head);
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    int at = headEnd + 4;
    while (true) {
      int lineEnd = all.indexOf("\r\n", at);
      if (lineEnd < 0) {
        break;
      }
      int size = Integer.parseInt(all.substring(at, lineEnd).trim(), 16);
      if (size == 0) {
        return new Chunked(head, body.toString(StandardCharsets.UTF_8), true);
      }
      if (lineEnd + 2 + size > bytes.length) {
        body.write(bytes, lineEnd + 2, bytes.length - lineEnd - 2); // a chunk cut short
        break;
      }
      body.write(bytes, lineEnd + 2, size);
      at = lineEnd + 2 + size + 2;
    }
    return new Chunked(head, body.toString(StandardCharsets.UTF_8), false);
  }
}
