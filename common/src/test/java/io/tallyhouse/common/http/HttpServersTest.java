package io.tallyhouse.common.http;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.PoolOptions;
import io.vertx.ext.web.Router;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class HttpServersTest {

  @Test
  void connectionsAreServedByOneEventLoopPerCore() throws Exception {
    int cores = Math.max(1, Runtime.getRuntime().availableProcessors());
    Vertx server = Vertx.vertx();
    Vertx client = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1));
    try {
      Set<String> servingThreads = ConcurrentHashMap.newKeySet();
      Router router = Router.router(server);
      router
          .route()
          .handler(
              ctx -> {
                servingThreads.add(Thread.currentThread().getName());
                ctx.response().end("ok");
              });
      List<HttpServer> servers =
          HttpServers.listenOnEveryCore(
              server, new HttpServerOptions().setHost("127.0.0.1").setPort(0), router);

      assertEquals(cores, servers.size());
      Set<Integer> ports = servers.stream().map(HttpServer::actualPort).collect(Collectors.toSet());
      assertEquals(1, ports.size(), "every instance shares one port: " + ports);

      // Several keep-alive connections at once: Vert.x hands them round robin to the instances.
      int connections = 4 * cores;
      HttpClient http =
          client.createHttpClient(
              new HttpClientOptions()
                  .setDefaultHost("127.0.0.1")
                  .setDefaultPort(ports.iterator().next()),
              new PoolOptions().setHttp1MaxSize(connections));
      List<Future<?>> answers = new ArrayList<>();
      for (int i = 0; i < 8 * connections; i++) {
        answers.add(
            http.request(HttpMethod.GET, "/")
                .compose(request -> request.send())
                .compose(response -> response.body()));
      }
      Future.all(answers).toCompletionStage().toCompletableFuture().get(2, TimeUnit.MINUTES);

      assertEquals(
          cores,
          servingThreads.size(),
          "each core's event loop serves connections, not one loop for all: " + servingThreads);
    } finally {
      client.close().toCompletionStage().toCompletableFuture().get(1, TimeUnit.MINUTES);
      server.close().toCompletionStage().toCompletableFuture().get(1, TimeUnit.MINUTES);
    }
  }
}
