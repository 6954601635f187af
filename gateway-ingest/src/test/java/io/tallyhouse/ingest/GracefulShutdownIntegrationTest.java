package io.tallyhouse.ingest;

import static io.tallyhouse.ingest.IngestHarness.event;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tallyhouse.testkit.Await;
import io.tallyhouse.testkit.Infra;
import io.tallyhouse.testkit.Ports;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGTERM in the middle of a load: the process drains and exits, and every event that got 202 is on
 * the topic.
 */
class GracefulShutdownIntegrationTest {

  @Test
  void everyAcknowledgedEventSurvivesSigtermUnderLoad(@TempDir Path dir) throws Exception {
    IngestHarness harness = new IngestHarness(dir);
    int port = Ports.freePort();
    Map<String, String> env =
        harness.env(Infra.kafka().bootstrapServers(), String.valueOf(5 * 1024 * 1024));
    env.put("HTTP_PORT", String.valueOf(port));
    ProcessBuilder builder =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                System.getProperty("java.class.path"),
                IngestServer.class.getName())
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve("ingest.log").toFile());
    builder.environment().putAll(env);
    Process process = builder.start();
    try {
      awaitLive(port, process, dir.resolve("ingest.log"));
      Set<String> acknowledged = ConcurrentHashMap.newKeySet();
      AtomicBoolean stop = new AtomicBoolean();
      List<Thread> clients = new ArrayList<>();
      List<Throwable> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
      for (int t = 0; t < 4; t++) {
        int client = t;
        Thread thread = new Thread(() -> load(harness, port, client, acknowledged, stop));
        thread.setUncaughtExceptionHandler((th, e) -> failures.add(e));
        thread.start();
        clients.add(thread);
      }
      // The signal comes once the load is well under way, however slowly a loaded machine gets
      // there.
      Await.until(
          "over 100 acknowledged events before the signal",
          () -> acknowledged.size() > 100,
          Await.STALL);
      int before = acknowledged.size();
      process.destroy(); // SIGTERM
      assertTrue(process.waitFor(30, TimeUnit.SECONDS), "the service did not exit after SIGTERM");
      stop.set(true);
      for (Thread thread : clients) {
        thread.join();
      }
      assertEquals(List.of(), failures, "client failures");
      assertEquals(0, process.exitValue(), "a SIGTERM is a clean stop: exit code 0 once closed");
      assertTrue(before > 100, "the load ran before the signal: " + before);
      Set<String> onTopic =
          Set.copyOf(
              IngestHarness.keys(
                  harness.readTopic(Infra.kafka().bootstrapServers(), acknowledged.size())));
      List<String> lost = acknowledged.stream().filter(k -> !onTopic.contains(k)).sorted().toList();
      assertEquals(List.of(), lost, "events that got 202 but are not on the topic");
    } finally {
      process.destroyForcibly();
    }
  }

  private static void load(
      IngestHarness harness, int port, int client, Set<String> acknowledged, AtomicBoolean stop) {
    for (int request = 0; !stop.get(); request++) {
      List<String> ids = new ArrayList<>();
      StringBuilder body = new StringBuilder("[");
      for (int i = 0; i < 20; i++) {
        String id = "c" + client + "-r" + request + "-" + i;
        ids.add("acme/" + id);
        body.append(i == 0 ? "" : ",").append(event(id, "acme"));
      }
      try {
        HttpResponse<String> response = harness.post(port, body.append(']').toString());
        if (response.statusCode() == 202) {
          acknowledged.addAll(ids);
        } else if (response.statusCode() != 503) {
          throw new AssertionError(
              "unexpected answer while shutting down: " + response.statusCode());
        }
      } catch (IOException e) {
        // The port is closed: the service is gone; keep trying until the test says stop, as a
        // gateway would.
        sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    }
  }

  private static void awaitLive(int port, Process process, Path log) throws Exception {
    long deadline = System.nanoTime() + Await.STALL.toNanos();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new AssertionError(
            "the service exited during start-up:\n" + java.nio.file.Files.readString(log));
      }
      try {
        HttpResponse<String> live =
            IngestHarness.HTTP.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health/live"))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
        if (live.statusCode() == 200) {
          return;
        }
      } catch (IOException e) {
        // not listening yet
      }
      sleep(100);
    }
    throw new AssertionError("the service did not start");
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
