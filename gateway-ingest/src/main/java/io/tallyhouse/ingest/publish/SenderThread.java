package io.tallyhouse.ingest.publish;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.errors.TimeoutException;

/**
 * The one thread that calls {@code producer.send}, fed through a bounded queue, and what a request
 * learns from it.
 *
 * <p>{@code producer.send} blocks its caller while the producer has no metadata for the topic (the
 * first send, or the first after the topic went unused for {@code metadata.max.idle.ms}) or no
 * buffer space, up to {@code max.block.ms}; so no request thread ever calls it. When a send times
 * out here, every request queued behind it fails at once instead of waiting as long again, and a
 * request that waited in the queue past its deadline fails without being sent.
 */
final class SenderThread implements AutoCloseable {

  /**
   * The queue holds at most one task per request in flight (MAX_IN_FLIGHT_BYTES bounds those); this
   * is a guard.
   */
  static final int QUEUE = 100_000;

  private final Producer<String, byte[]> producer;
  private final ThreadPoolExecutor sender;
  private final long timeoutNanos;

  SenderThread(Producer<String, byte[]> producer, long timeoutNanos) {
    this.producer = producer;
    this.timeoutNanos = timeoutNanos;
    this.sender =
        new ThreadPoolExecutor(
            1,
            1,
            0,
            TimeUnit.MILLISECONDS,
            new ArrayBlockingQueue<>(QUEUE),
            runnable -> {
              Thread thread = new Thread(runnable, "gateway-ingest-kafka-sender");
              thread.setDaemon(true);
              return thread;
            });
  }

  /**
   * Queues one request's records; the future completes when Kafka acknowledged every one, or fails
   * with the first error. It never blocks.
   */
  CompletableFuture<Integer> send(List<ProducerRecord<String, byte[]>> records) {
    Send send = new Send(records, new CompletableFuture<>(), System.nanoTime() + timeoutNanos);
    try {
      sender.execute(send);
    } catch (RejectedExecutionException e) {
      send.acknowledged.completeExceptionally(
          new TimeoutException("too many requests are waiting for Kafka"));
    }
    return send.acknowledged;
  }

  /** One request's records, sent in order. */
  private final class Send implements Runnable {
    final List<ProducerRecord<String, byte[]>> records;
    final CompletableFuture<Integer> acknowledged;
    final long deadlineNanos;

    Send(
        List<ProducerRecord<String, byte[]>> records,
        CompletableFuture<Integer> acknowledged,
        long deadlineNanos) {
      this.records = records;
      this.acknowledged = acknowledged;
      this.deadlineNanos = deadlineNanos;
    }

    @Override
    public void run() {
      if (System.nanoTime() - deadlineNanos > 0) {
        acknowledged.completeExceptionally(
            new TimeoutException("the request waited for Kafka past its deadline"));
        return;
      }
      int[] pending = {records.size()};
      try {
        for (ProducerRecord<String, byte[]> record : records) {
          Future<RecordMetadata> sent =
              producer.send(
                  record,
                  (metadata, error) -> {
                    if (error != null) {
                      acknowledged.completeExceptionally(error);
                      return;
                    }
                    synchronized (pending) {
                      if (--pending[0] == 0) {
                        acknowledged.complete(records.size());
                      }
                    }
                  });
          if (timedOutInSend(sent)) {
            failQueued();
            return;
          }
        }
      } catch (RuntimeException e) {
        // A producer that is closing throws instead of calling back; the request must still get its
        // answer.
        acknowledged.completeExceptionally(e);
      }
    }
  }

  /**
   * Whether send() itself gave up (no metadata or no buffer space within max.block.ms), not a later
   * delivery.
   */
  private static boolean timedOutInSend(Future<RecordMetadata> sent) {
    if (!sent.isDone()) {
      return false;
    }
    try {
      sent.get();
      return false;
    } catch (ExecutionException e) {
      return e.getCause() instanceof TimeoutException;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /**
   * Kafka just could not take a record in time: every request queued behind it would wait as long
   * again, so fails.
   */
  private void failQueued() {
    List<Runnable> queued = new ArrayList<>();
    sender.getQueue().drainTo(queued);
    for (Runnable r : queued) {
      ((Send) r)
          .acknowledged.completeExceptionally(
              new TimeoutException("Kafka could not take a write in time"));
    }
  }

  /**
   * Sends what is queued (each within its deadline), then stops; the producer stays open for the
   * caller to flush.
   */
  @Override
  public void close() {
    sender.shutdown();
    try {
      sender.awaitTermination(timeoutNanos + TimeUnit.SECONDS.toNanos(5), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
