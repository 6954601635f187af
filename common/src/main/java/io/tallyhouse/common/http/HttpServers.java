package io.tallyhouse.common.http;

import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.ext.web.Router;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** How every service listens and serves its OpenAPI document. */
public final class HttpServers {

  private HttpServers() {}

  /**
   * One server per core on the same port, each in its own verticle instance. Vert.x spreads the
   * connections of a shared port over the event loops of the instances listening on it; servers
   * made outside a verticle all run on the calling thread's one context, so every connection would
   * land on one event loop and the service would use one core for all its requests. Port 0 would
   * give every instance its own random port, so it becomes Vert.x's shared random port (a negative
   * one).
   */
  public static List<HttpServer> listenOnEveryCore(
      Vertx vertx, HttpServerOptions options, Router router)
      throws InterruptedException, ExecutionException, TimeoutException {
    HttpServerOptions shared = new HttpServerOptions(options);
    if (shared.getPort() == 0) {
      shared.setPort(-1);
    }
    List<HttpServer> servers = new CopyOnWriteArrayList<>();
    int instances = Math.max(1, Runtime.getRuntime().availableProcessors());
    vertx
        .deployVerticle(
            () ->
                new VerticleBase() {
                  @Override
                  public Future<?> start() {
                    return vertx
                        .createHttpServer(shared)
                        .requestHandler(router)
                        .listen()
                        .onSuccess(servers::add);
                  }
                },
            new DeploymentOptions().setInstances(instances))
        .toCompletionStage()
        .toCompletableFuture()
        .get(30, TimeUnit.SECONDS);
    return List.copyOf(servers);
  }

  /**
   * Serves the classpath resource {@code resource} (the service's OpenAPI document) at {@code GET
   * /openapi.yaml}.
   */
  public static void mountOpenApi(Router router, Class<?> owner, String resource) {
    Buffer document = Buffer.buffer(openApiDocument(owner, resource));
    router
        .get("/openapi.yaml")
        .handler(
            ctx ->
                ctx.response()
                    .putHeader("Content-Type", "application/yaml; charset=utf-8")
                    .end(document));
  }

  /**
   * The bytes of the OpenAPI document {@code resource}, an absolute classpath path such as {@code
   * /openapi.yaml}.
   */
  public static byte[] openApiDocument(Class<?> owner, String resource) {
    try (InputStream in = owner.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException(resource + " is missing from the classpath");
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
