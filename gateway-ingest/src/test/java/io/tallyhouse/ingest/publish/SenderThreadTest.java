package io.tallyhouse.ingest.publish;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

/**
 * The sender thread's own rules, over the producer interface: a send that times out fails every
 * request queued behind it at once, and a request that waited past its deadline is never sent.
 * Against a real broker: IngestKafkaOutageIntegrationTest.
 */
class SenderThreadTest {

  /**
   * A producer whose send() waits until released, then gives up as Kafka's does without metadata.
   */
  private static final class StalledProducer extends MockProducer<String, byte[]> {
    final CountDownLatch entered = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);
    final AtomicInteger sends = new AtomicInteger();
    final boolean timesOut;

    StalledProducer(boolean timesOut) {
      super(true, null, new StringSerializer(), new ByteArraySerializer());
      this.timesOut = timesOut;
    }

    @Override
    public Future<RecordMetadata> send(ProducerRecord<String, byte[]> record, Callback callback) {
      sends.incrementAndGet();
      entered.countDown();
      try {
        release.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      if (!timesOut) {
        return super.send(record, callback);
      }
      TimeoutException timeout = new TimeoutException("no metadata within max.block.ms");
      callback.onCompletion(null, timeout);
      return CompletableFuture.failedFuture(timeout);
    }
  }

  /**
   * A request that reached the producer's send(). On a busy machine the sender thread may take up
   * the request only after its short deadline: it then fails unsent (the rule under test), and
   * another is sent, until one gets through.
   */
  private static CompletableFuture<Integer> firstToReachTheProducer(
      SenderThread sender, StalledProducer producer) throws Exception {
    long giveUp = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
    while (System.nanoTime() < giveUp) {
      CompletableFuture<Integer> first = sender.send(records("a/1"));
      while (!producer.entered.await(10, TimeUnit.MILLISECONDS)) {
        if (first.isDone()) {
          assertTrue(failure(first).getMessage().contains("past its deadline"));
          break;
        }
      }
      if (producer.entered.getCount() == 0) {
        return first;
      }
    }
    throw new AssertionError("no request reached the producer within its deadline in 5 minutes");
  }

  private static List<ProducerRecord<String, byte[]>> records(String key) {
    return List.of(new ProducerRecord<>("usage-events", key, new byte[] {1}));
  }

  private static Throwable failure(CompletableFuture<Integer> acknowledged) {
    ExecutionException e =
        assertThrows(ExecutionException.class, () -> acknowledged.get(1, TimeUnit.MINUTES));
    return e.getCause();
  }

  @Test
  void aSendThatTimesOutFailsEveryRequestQueuedBehindItWithoutSendingThem() throws Exception {
    StalledProducer producer = new StalledProducer(true);
    try (SenderThread sender = new SenderThread(producer, TimeUnit.MINUTES.toNanos(1))) {
      CompletableFuture<Integer> first = sender.send(records("a/1"));
      producer.entered.await();
      List<CompletableFuture<Integer>> queued = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        queued.add(sender.send(records("a/q" + i)));
      }
      producer.release.countDown();
      assertInstanceOf(TimeoutException.class, failure(first));
      for (CompletableFuture<Integer> request : queued) {
        assertEquals("Kafka could not take a write in time", failure(request).getMessage());
      }
      assertEquals(1, producer.sends.get(), "only the first request reached the producer");
    }
  }

  @Test
  void aRequestThatWaitedPastItsDeadlineFailsUnsent() throws Exception {
    StalledProducer producer = new StalledProducer(false);
    long deadline = TimeUnit.MILLISECONDS.toNanos(50);
    try (SenderThread sender = new SenderThread(producer, deadline)) {
      CompletableFuture<Integer> first = firstToReachTheProducer(sender, producer);
      CompletableFuture<Integer> late = sender.send(records("a/2"));
      long queuedAt = System.nanoTime();
      // The condition is the deadline itself: the first send holds the thread until the second
      // one's has passed.
      while (System.nanoTime() - queuedAt <= deadline) {
        Thread.onSpinWait();
      }
      producer.release.countDown();
      assertEquals(1, first.get(1, TimeUnit.MINUTES));
      assertTrue(failure(late).getMessage().contains("past its deadline"));
      assertEquals(1, producer.sends.get(), "the late request never reached the producer");
    }
  }
}
