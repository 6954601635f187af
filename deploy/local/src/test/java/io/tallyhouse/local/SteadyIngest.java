package io.tallyhouse.local;

import io.tallyhouse.common.auth.Secrets;
import io.tallyhouse.local.ExpectedActivity.SentEvent;
import io.tallyhouse.testkit.Await;
import java.math.BigDecimal;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Steady traffic through every gateway-ingest instance, one sender each, recording exactly what was
 * acknowledged. A request that does not get 202 is sent again, unchanged, to the next instance
 * until one acknowledges it, as a gateway retries; some requests also repeat events already
 * acknowledged. Several accounts, keys, users and endpoints; money with 12 decimals.
 */
final class SteadyIngest implements AutoCloseable {

  static final List<String> ACCOUNTS = List.of("acme", "beta.corp:eu-1", "gamma");

  /** The longest one request may go unacknowledged, retries included. */
  private static final Duration GIVE_UP = Duration.ofMinutes(10);

  /** The pause between a sender's requests: a steady rate, not a flood. */
  private static final long PACE_MILLIS = 150;

  private static final String[][] ENDPOINTS = {
    {"openai/gpt-4o", "openai/gpt-4o-2024-08-06", "OpenAI"},
    {"anthropic/claude-sonnet-4", "anthropic/claude-sonnet-4", "Anthropic"},
    {"mistral/large", "mistral/large", "Mistral"}
  };
  private static final String[] USERS = {"user-1", "user-2", null, "ü'ser \\ 1"};

  private final List<String> ingestUrls;
  private final String token;
  private final LocalDate today = LocalDate.now(ZoneOffset.UTC);
  private final AtomicLong nextEvent = new AtomicLong();
  private final AtomicLong acknowledgedRequests = new AtomicLong();
  private final AtomicLong refusedAttempts = new AtomicLong();
  private final List<SentEvent> acknowledged = new ArrayList<>();
  private final AtomicReference<Throwable> failure = new AtomicReference<>();
  private final List<Thread> senders = new ArrayList<>();
  private volatile boolean running;

  /** Traffic to the gateway-ingest instances at {@code ingestUrls}, posted with {@code token}. */
  SteadyIngest(List<String> ingestUrls, String token) {
    this.ingestUrls = List.copyOf(ingestUrls);
    this.token = token;
  }

  /** Starts one sender per ingest instance. */
  synchronized void start() {
    running = true;
    for (int i = 0; i < ingestUrls.size(); i++) {
      int first = i;
      Thread sender = new Thread(() -> send(first, new Random(31L * first + 7)), "ingest-" + i);
      sender.setDaemon(true);
      senders.add(sender);
      sender.start();
    }
  }

  /** Requests acknowledged so far. */
  long acknowledgedRequests() {
    return acknowledgedRequests.get();
  }

  /** Attempts that got no 202 (and were retried). */
  long refusedAttempts() {
    return refusedAttempts.get();
  }

  /**
   * Waits until {@code more} requests beyond those acknowledged now are acknowledged: traffic went
   * on through whatever happens meanwhile.
   */
  void awaitMoreAcknowledged(long more) throws InterruptedException {
    long target = acknowledgedRequests.get() + more;
    Await.until(
        more + " more requests acknowledged",
        () -> {
          assertNoFailure();
          return acknowledgedRequests.get() >= target;
        },
        GIVE_UP);
  }

  /**
   * Stops the senders once each has its last request acknowledged; returns every event that was
   * acknowledged, repeats included, in order.
   */
  List<SentEvent> stop() throws InterruptedException {
    running = false;
    for (Thread sender : senders) {
      sender.join(GIVE_UP.toMillis());
      if (sender.isAlive()) {
        throw new AssertionError(sender.getName() + " did not finish its last request");
      }
    }
    assertNoFailure();
    synchronized (acknowledged) {
      return List.copyOf(acknowledged);
    }
  }

  @Override
  public void close() {
    running = false;
    senders.forEach(Thread::interrupt);
  }

  private void assertNoFailure() {
    Throwable t = failure.get();
    if (t != null) {
      throw new AssertionError("the traffic failed: " + t, t);
    }
  }

  private void send(int first, Random random) {
    try {
      int target = first;
      while (running) {
        List<SentEvent> batch = batch(random);
        String body = ExpectedActivity.requestBody(batch);
        long deadline = System.nanoTime() + GIVE_UP.toNanos();
        while (true) {
          HttpResponse<String> response = attempt(ingestUrls.get(target), body);
          if (response != null && response.statusCode() == 202) {
            break;
          }
          if (response != null && response.statusCode() / 100 == 4) {
            throw new IllegalStateException(
                "the ingest refused a valid request: "
                    + response.statusCode()
                    + " "
                    + response.body());
          }
          refusedAttempts.incrementAndGet();
          if (System.nanoTime() > deadline) {
            throw new IllegalStateException(
                "a request was not acknowledged within " + GIVE_UP.toMinutes() + " minutes");
          }
          target = (target + 1) % ingestUrls.size();
          Thread.sleep(200);
        }
        synchronized (acknowledged) {
          acknowledged.addAll(batch);
        }
        acknowledgedRequests.incrementAndGet();
        target = first;
        Thread.sleep(PACE_MILLIS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Exception e) {
      failure.compareAndSet(null, e);
    }
  }

  /** The answer, or null when the instance could not be reached (it is down). */
  private HttpResponse<String> attempt(String url, String body) throws InterruptedException {
    try {
      return ServiceApi.postEvents(url, token, body);
    } catch (java.io.IOException e) {
      return null;
    }
  }

  /** 1 to 20 new events, and now and then a few already acknowledged again (a client's retry). */
  private List<SentEvent> batch(Random random) {
    List<SentEvent> batch = new ArrayList<>();
    int fresh = 1 + random.nextInt(20);
    for (int i = 0; i < fresh; i++) {
      batch.add(event(random, "ev-" + nextEvent.getAndIncrement()));
    }
    if (random.nextInt(4) == 0) {
      synchronized (acknowledged) {
        for (int i = 0; i < 3 && !acknowledged.isEmpty(); i++) {
          batch.add(acknowledged.get(random.nextInt(acknowledged.size())));
        }
      }
    }
    return batch;
  }

  private SentEvent event(Random random, String eventId) {
    String account = ACCOUNTS.get(random.nextInt(ACCOUNTS.size()));
    String[] endpoint = ENDPOINTS[random.nextInt(ENDPOINTS.length)];
    // Inside the activity window (the last 30 completed days) with a margin for a run that
    // crosses midnight.
    Instant createdAt =
        today
            .minusDays(1 + random.nextInt(27))
            .atStartOfDay(ZoneOffset.UTC)
            .toInstant()
            .plusMillis(random.nextInt(86_400_000));
    boolean byok = random.nextInt(5) == 0;
    return new SentEvent(
        eventId,
        account,
        Secrets.sha256Hex(account + "-key-" + random.nextInt(2)),
        USERS[random.nextInt(USERS.length)],
        endpoint[0],
        endpoint[1],
        endpoint[2],
        endpoint[2] + "/" + endpoint[1],
        createdAt,
        random.nextInt(5000),
        random.nextInt(2000),
        random.nextInt(3) == 0 ? random.nextInt(500) : 0,
        random.nextInt(100),
        money(random, 1000),
        byok,
        byok ? money(random, 1) : BigDecimal.ZERO,
        null);
  }

  /** A random amount below {@code whole} with 12 decimals, every digit significant at random. */
  private static BigDecimal money(Random random, long whole) {
    return BigDecimal.valueOf(random.nextLong(whole * 1_000_000_000_000L)).movePointLeft(12);
  }
}
