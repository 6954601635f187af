package io.tallyhouse.query;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.tallyhouse.common.auth.CredentialKind;
import io.tallyhouse.common.auth.CredentialStore;
import io.tallyhouse.common.clickhouse.ClickHouse;
import io.tallyhouse.common.clickhouse.ClickHouseConfig;
import io.tallyhouse.query.QueryTestEnv.Endpoint;
import io.tallyhouse.query.http.ActivityRouter;
import io.tallyhouse.testkit.ClickHouseEndpoint;
import io.tallyhouse.testkit.Infra;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Exports under abuse against a real ClickHouse (its own database): CSV clients that send a request
 * and never read hold no worker thread, only an export slot, so other accounts' activity answers
 * and readiness keep answering; beyond the per-account and total limits an export is 429 with
 * Retry-After; a slot is freed when its client goes away or when the export stalls past its
 * timeout.
 */
class ExportLimitsIntegrationTest {

  private static final Instant NOW = Instant.parse("2026-11-22T00:00:05Z");
  private static final String DAY = "2026-11-21";
  private static final String KEY_HASH = "e6".repeat(32);
  private static final Endpoint EP =
      new Endpoint("openai/gpt-4o", "openai/gpt-4o", "OpenAI", "OpenAI/openai/gpt-4o");

  /**
   * Accounts whose exports are abused; each has far more CSV than the socket buffers of one
   * connection hold.
   */
  private static final int ABUSERS = 5;

  private static final int CLIENTS = 25;

  /** About 800 bytes of UTF-8 per user id: 12,000 rows are about 10 MB of CSV per export. */
  private static final int ROWS_PER_ABUSER = 12_000;

  private static final String LONG = "\uD83D\uDE00".repeat(200);
  private static final HttpClient HTTP =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(30))
          .build();

  private static String database;
  private static ClickHouse clickHouse;
  private static CredentialStore keys;
  private static ClickHouseEndpoint endpoint;
  private static final Map<String, String> KEYS = new HashMap<>();

  @BeforeAll
  static void start() throws Exception {
    endpoint = Infra.clickhouse();
    database = QueryTestEnv.newDatabase("aql");
    keys = QueryTestEnv.newKeyStore("activity-export-limits-test");
    for (int a = 0; a < ABUSERS; a++) {
      KEYS.put("abuser-" + a, QueryTestEnv.newKey(keys, CredentialKind.MANAGEMENT, "abuser-" + a));
    }
    KEYS.put("bystander", QueryTestEnv.newKey(keys, CredentialKind.MANAGEMENT, "bystander"));
    clickHouse =
        new ClickHouse(
            new ClickHouseConfig(
                endpoint.httpUrl(), endpoint.user(), endpoint.password(), database));
  }

  @AfterAll
  static void stop() {
    QueryTestEnv.dropDatabase(clickHouse, database);
  }

  private static ActivityServer server(Map<String, String> settings) {
    Map<String, String> env = QueryTestEnv.of(endpoint, database, keys.file());
    env.putAll(settings);
    return ActivityServer.start(QueryTestEnv.config(env), Clock.fixed(NOW, ZoneOffset.UTC));
  }

  private static void insertRows() {
    StringBuilder rows = new StringBuilder();
    for (int a = 0; a < ABUSERS; a++) {
      for (int i = 0; i < ROWS_PER_ABUSER; i++) {
        rows.append(
                QueryTestEnv.rollupRow(
                    "abuser-" + a, DAY, KEY_HASH, LONG + "-" + i, EP, 1, "0.5", "0", 0, 1))
            .append('\n');
      }
    }
    rows.append(
            QueryTestEnv.rollupRow("bystander", DAY, KEY_HASH, "carol", EP, 7, "1.25", "0", 0, 1))
        .append('\n');
    clickHouse.insertJsonEachRow("usage_daily", rows.toString().getBytes(StandardCharsets.UTF_8));
  }

  /**
   * A client that sends one CSV export request, reads its status line and then never reads again.
   */
  private record Stalled(String account, Socket socket, int status, String retryAfter) {}

  private static Stalled stall(ActivityServer server, String account) throws IOException {
    Socket socket = new Socket();
    // A small receive window, so the server's writes stop early; the service cannot tell this from
    // a slow reader.
    socket.setReceiveBufferSize(8 * 1024);
    socket.setSoTimeout(120_000);
    socket.connect(new InetSocketAddress("127.0.0.1", server.port()), 30_000);
    socket
        .getOutputStream()
        .write(
            ("GET "
                    + ActivityRouter.EXPORT_ROUTE
                    + "?from="
                    + DAY
                    + "&to="
                    + DAY
                    + "&format=csv HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
                    + KEYS.get(account)
                    + "\r\n\r\n")
                .getBytes(StandardCharsets.ISO_8859_1));
    InputStream in = socket.getInputStream();
    String statusLine = line(in);
    int status = Integer.parseInt(statusLine.split(" ")[1]);
    String retryAfter = null;
    if (status != 200) {
      for (String header = line(in); !header.isEmpty(); header = line(in)) {
        if (header.regionMatches(true, 0, "Retry-After:", 0, 12)) {
          retryAfter = header.substring(12).trim();
        }
      }
    }
    return new Stalled(account, socket, status, retryAfter);
  }

  /** One CRLF-terminated line, read byte by byte so nothing after it is taken from the socket. */
  private static String line(InputStream in) throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    int previous = -1;
    for (int b = in.read(); b != -1; b = in.read()) {
      if (previous == '\r' && b == '\n') {
        byte[] bytes = line.toByteArray();
        return new String(bytes, 0, bytes.length - 1, StandardCharsets.ISO_8859_1);
      }
      line.write(b);
      previous = b;
    }
    throw new IOException("connection closed before the end of a line");
  }

  private static HttpResponse<String> get(
      ActivityServer server, String account, String path, String query) throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(
                URI.create(
                    "http://127.0.0.1:"
                        + server.port()
                        + path
                        + (query.isEmpty() ? "" : "?" + query)))
            .timeout(Duration.ofSeconds(90));
    if (account != null) {
      request.header("Authorization", "Bearer " + KEYS.get(account));
    }
    return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
  }

  private static double inProgress(ActivityServer server) throws Exception {
    return QueryTestEnv.metric(server, "activity_exports_in_progress");
  }

  /**
   * Polls until the export slots in use are {@code expected}; fails after two minutes (a guard, not
   * a timing).
   */
  private static void awaitInProgress(ActivityServer server, double expected) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
    while (inProgress(server) != expected) {
      assertTrue(
          System.nanoTime() < deadline,
          "exports in progress stay " + inProgress(server) + ", not " + expected);
      Thread.sleep(50);
    }
  }

  private static void assertRetryLater(HttpResponse<String> response) throws Exception {
    assertEquals(429, response.statusCode(), response.body());
    assertTrue(Integer.parseInt(response.headers().firstValue("Retry-After").orElse("0")) >= 1);
    JsonNode error = ExportApiIntegrationTest.EXACT.readTree(response.body()).get("error");
    assertEquals(429, error.get("code").asInt());
  }

  @Test
  void clientsThatNeverReadHoldOnlyTheirSlotsAndOthersKeepBeingAnswered() throws Exception {
    // Stalled exports outlive this test's checks; the next test proves the timeout.
    try (ActivityServer server = server(Map.of("EXPORT_STALL_TIMEOUT_MS", "600000"))) {
      insertRowsOnce();
      QueryTestEnv.awaitFreshPoll(server);
      List<Stalled> clients = new ArrayList<>();
      ExecutorService pool = Executors.newFixedThreadPool(CLIENTS);
      try {
        List<Future<Stalled>> started = new ArrayList<>();
        for (int c = 0; c < CLIENTS; c++) {
          String account = "abuser-" + c % ABUSERS;
          started.add(pool.submit(() -> stall(server, account)));
        }
        for (Future<Stalled> client : started) {
          clients.add(client.get(3, TimeUnit.MINUTES));
        }

        Map<String, Integer> admitted = new HashMap<>();
        for (Stalled client : clients) {
          if (client.status() == 200) {
            admitted.merge(client.account(), 1, Integer::sum);
          } else {
            assertEquals(429, client.status(), client.account());
            assertTrue(
                Integer.parseInt(client.retryAfter()) >= 1, "Retry-After " + client.retryAfter());
          }
        }
        // 5 accounts of at most 2 each could run 10: the total limit admits 8.
        assertEquals(
            QueryConfig.DEFAULT_EXPORT_MAX_TOTAL,
            admitted.values().stream().mapToInt(n -> n).sum(),
            admitted.toString());
        admitted
            .values()
            .forEach(
                n ->
                    assertTrue(
                        n <= QueryConfig.DEFAULT_EXPORT_MAX_PER_ACCOUNT, admitted.toString()));
        assertEquals(
            QueryConfig.DEFAULT_EXPORT_MAX_TOTAL,
            inProgress(server),
            "the admitted exports are stalled");

        // Another account: a cache miss and a key never checked before (both need a worker) and
        // readiness answer.
        HttpResponse<String> activity =
            get(server, "bystander", ActivityRouter.ROUTE, "group_by=user");
        assertEquals(200, activity.statusCode(), activity.body());
        JsonNode item = ExportApiIntegrationTest.EXACT.readTree(activity.body()).get("data").get(0);
        assertEquals("carol", item.get("user_id").asText());
        assertEquals("7", item.get("requests").asText());
        assertEquals(200, get(server, null, "/health/ready", "").statusCode());
        assertEquals(200, get(server, null, "/health/live", "").statusCode());
        // Its exports wait for a free slot, like everyone's.
        assertRetryLater(
            get(server, "bystander", ActivityRouter.EXPORT_ROUTE, "from=" + DAY + "&to=" + DAY));
        assertRetryLater(
            get(server, "abuser-0", ActivityRouter.EXPORT_ROUTE, "from=" + DAY + "&to=" + DAY));
        assertEquals(QueryConfig.DEFAULT_EXPORT_MAX_TOTAL, inProgress(server));
      } finally {
        for (Stalled client : clients) {
          client.socket().close();
        }
        pool.shutdownNow();
      }

      // Gone clients give their slots back.
      awaitInProgress(server, 0);
      HttpResponse<String> csv =
          get(
              server,
              "bystander",
              ActivityRouter.EXPORT_ROUTE,
              "from=" + DAY + "&to=" + DAY + "&format=csv");
      assertEquals(200, csv.statusCode(), csv.body());
      assertTrue(csv.body().contains("\r\ncarol,7,"), csv.body());
      HttpResponse<String> full =
          get(
              server,
              "abuser-1",
              ActivityRouter.EXPORT_ROUTE,
              "from=" + DAY + "&to=" + DAY + "&format=csv");
      assertEquals(200, full.statusCode());
      assertEquals(
          ROWS_PER_ABUSER + 1, full.body().split("\r\n").length, "a reading client gets every row");
      assertTrue(
          QueryTestEnv.metric(
                  server,
                  "http_server_requests_seconds_count{route=\""
                      + ActivityRouter.EXPORT_ROUTE
                      + "\",status=\"aborted\"}")
              >= QueryConfig.DEFAULT_EXPORT_MAX_TOTAL);
      awaitInProgress(server, 0);
    }
  }

  @Test
  void aStalledExportIsEndedAfterItsTimeoutAndItsSlotFreed() throws Exception {
    try (ActivityServer server =
        server(Map.of("EXPORT_STALL_TIMEOUT_MS", "1000", "EXPORT_MAX_TOTAL", "1"))) {
      insertRowsOnce();
      Stalled stalled = stall(server, "abuser-2");
      try {
        assertEquals(200, stalled.status());
        // The one slot is taken until the stalled export times out, with its client still
        // connected.
        awaitInProgress(server, 0);
        HttpResponse<String> next =
            get(
                server,
                "abuser-3",
                ActivityRouter.EXPORT_ROUTE,
                "from=" + DAY + "&to=" + DAY + "&format=json&limit=1");
        assertEquals(200, next.statusCode(), next.body());
        // The stalled client then reads what was sent before the reset: a cut transfer, never the
        // last chunk.
        ByteArrayOutputStream received = new ByteArrayOutputStream();
        try {
          stalled.socket().getInputStream().transferTo(received);
        } catch (IOException reset) {
          // a reset connection: also a cut transfer
        }
        String text = received.toString(StandardCharsets.UTF_8);
        assertFalse(text.endsWith("\r\n0\r\n\r\n"), "the stalled export was not completed");
        assertTrue(text.split("\r\n").length < ROWS_PER_ABUSER, "it was cut before its last rows");
      } finally {
        stalled.socket().close();
      }
    }
  }

  private static boolean inserted;

  /** After a server started: it creates the database and its tables. */
  private static synchronized void insertRowsOnce() {
    if (!inserted) {
      insertRows();
      inserted = true;
    }
  }
}
