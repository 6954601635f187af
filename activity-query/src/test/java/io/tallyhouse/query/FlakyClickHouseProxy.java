package io.tallyhouse.query;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Stands between a service and the real ClickHouse: forwards everything until {@link #fail()} is
 * called (or the requests allowed by {@link #failAfter} are used up), then answers every request
 * with a ClickHouse-style 500 naming internals the service must never repeat, until {@link
 * #recover()}. The cache's polls of the change markers arrive on their own clock, so they never
 * count against {@link #failAfter}; {@link #failPolls()} fails only them.
 */
public final class FlakyClickHouseProxy implements AutoCloseable {

  static final String INTERNAL_DETAIL =
      "Code: 60. DB::Exception: Table secret_internal_db.usage_daily doesn't exist";

  /** The table only the cache's poller reads. */
  private static final String POLLED_TABLE = "usage_daily_changes";

  private static final Set<String> NOT_FORWARDED =
      Set.of(
          "host",
          "connection",
          "content-length",
          "expect",
          "upgrade",
          "transfer-encoding",
          "keep-alive");

  private final HttpServer server;
  private final HttpClient client =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  private final String target;

  /** Requests still forwarded before the proxy fails; negative: never fails. */
  private final AtomicInteger forwardsLeft = new AtomicInteger(-1);

  private volatile boolean failPolls;

  /** Requests whose statement contains this text fail; null: none is singled out. */
  private volatile String failingText;

  public FlakyClickHouseProxy(String targetUrl) throws IOException {
    this.target =
        targetUrl.endsWith("/") ? targetUrl.substring(0, targetUrl.length() - 1) : targetUrl;
    this.server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/", this::handle);
    server.start();
  }

  public String url() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  public void fail() {
    failAfter(0);
  }

  /** Forwards the next {@code requests} requests, then fails every later one. */
  public void failAfter(int requests) {
    forwardsLeft.set(requests);
  }

  /** Fails the cache's polls of {@code usage_daily_changes} only; everything else is forwarded. */
  public void failPolls() {
    failPolls = true;
  }

  /**
   * Fails every request whose URL or statement contains {@code text}; everything else is forwarded
   * as before.
   */
  public void failContaining(String text) {
    failingText = text;
  }

  public void recover() {
    failPolls = false;
    failingText = null;
    forwardsLeft.set(-1);
  }

  /** Whether this request is answered with the error: counts it against the forwards left. */
  private boolean failsNow() {
    return forwardsLeft.getAndUpdate(left -> left > 0 ? left - 1 : left) == 0;
  }

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      byte[] body = exchange.getRequestBody().readAllBytes();
      String request = exchange.getRequestURI() + new String(body, StandardCharsets.UTF_8);
      boolean poll = request.contains(POLLED_TABLE);
      String singledOut = failingText;
      if ((singledOut != null && request.contains(singledOut))
          || (poll ? failPolls || forwardsLeft.get() == 0 : failsNow())) {
        byte[] error = INTERNAL_DETAIL.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().add("X-ClickHouse-Exception-Code", "60");
        exchange.sendResponseHeaders(500, error.length);
        exchange.getResponseBody().write(error);
        return;
      }
      HttpRequest.Builder forward =
          HttpRequest.newBuilder(URI.create(target + exchange.getRequestURI()))
              .method(exchange.getRequestMethod(), HttpRequest.BodyPublishers.ofByteArray(body));
      for (Map.Entry<String, List<String>> header : exchange.getRequestHeaders().entrySet()) {
        if (!NOT_FORWARDED.contains(header.getKey().toLowerCase())) {
          header.getValue().forEach(v -> forward.header(header.getKey(), v));
        }
      }
      HttpResponse<byte[]> response =
          client.send(forward.build(), HttpResponse.BodyHandlers.ofByteArray());
      response
          .headers()
          .map()
          .forEach(
              (name, values) -> {
                if (!NOT_FORWARDED.contains(name.toLowerCase()) && !name.startsWith(":")) {
                  values.forEach(v -> exchange.getResponseHeaders().add(name, v));
                }
              });
      byte[] answer = response.body();
      exchange.sendResponseHeaders(response.statusCode(), answer.length == 0 ? -1 : answer.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(answer);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
