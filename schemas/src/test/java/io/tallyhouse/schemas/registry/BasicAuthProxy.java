package io.tallyhouse.schemas.registry;

import com.sun.net.httpserver.BasicAuthenticator;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;
import java.util.Set;

/**
 * HTTP basic auth in front of the real registry, the way a registry is often fronted: the JDK's own
 * {@link BasicAuthenticator} answers 401 to a request without valid credentials and forwards the
 * others unchanged. Apicurio 2.6 enforces basic auth only by trading the credentials for an OIDC
 * token at Keycloak, which does not run here. Only {@code configWriters} may change a subject's
 * config (403 otherwise), as with a registry's role-based access.
 */
final class BasicAuthProxy implements AutoCloseable {

  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private final HttpServer server;
  private final String upstream;
  private final Set<String> configWriters;

  BasicAuthProxy(String upstream, Map<String, String> passwords, Set<String> configWriters)
      throws IOException {
    this.upstream = upstream;
    this.configWriters = configWriters;
    this.server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server
        .createContext("/", this::forward)
        .setAuthenticator(
            new BasicAuthenticator("registry") {
              @Override
              public boolean checkCredentials(String user, String password) {
                return password.equals(passwords.get(user));
              }
            });
    server.start();
  }

  String url() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  private void forward(HttpExchange exchange) throws IOException {
    try (exchange) {
      String path = exchange.getRequestURI().getRawPath();
      String method = exchange.getRequestMethod();
      if (method.equals("PUT")
          && path.startsWith("/config")
          && !configWriters.contains(exchange.getPrincipal().getUsername())) {
        byte[] body =
            "{\"error_code\":40301,\"message\":\"User cannot access the resource.\"}".getBytes();
        exchange.sendResponseHeaders(403, body.length);
        exchange.getResponseBody().write(body);
        return;
      }
      byte[] body = exchange.getRequestBody().readAllBytes();
      HttpRequest.Builder request =
          HttpRequest.newBuilder(URI.create(upstream + exchange.getRequestURI()))
              .method(method, HttpRequest.BodyPublishers.ofByteArray(body));
      String contentType = exchange.getRequestHeaders().getFirst("Content-Type");
      if (contentType != null) {
        request.header("Content-Type", contentType);
      }
      HttpResponse<byte[]> response =
          HTTP.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
      response
          .headers()
          .firstValue("Content-Type")
          .ifPresent(type -> exchange.getResponseHeaders().set("Content-Type", type));
      exchange.sendResponseHeaders(
          response.statusCode(), response.body().length == 0 ? -1 : response.body().length);
      exchange.getResponseBody().write(response.body());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
