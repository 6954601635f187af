package io.tallyhouse.query.export;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The exports running at once, per account and in total. An export takes a slot before it reads
 * ClickHouse and gives it back once its answer is written or it ended otherwise, so a client that
 * stops reading holds one slot, never a thread, and one account cannot take every slot.
 */
public final class ExportSlots {

  /** What a refused export is told to wait, in seconds, before it tries again. */
  public static final int RETRY_AFTER_SECONDS = 5;

  private final int perAccount;
  private final int total;

  /** Slots in use per account; an account without any is absent. Guarded by this. */
  private final Map<String, Integer> byAccount = new HashMap<>();

  private int inUse;
  private final Counter refusedForAccount;
  private final Counter refusedForTotal;

  /**
   * @param perAccount exports of one account at once
   * @param total exports of all accounts at once
   */
  public ExportSlots(int perAccount, int total, MeterRegistry metrics) {
    this.perAccount = perAccount;
    this.total = total;
    refusedForAccount = refusals(metrics, "account");
    refusedForTotal = refusals(metrics, "total");
    Gauge.builder("activity_exports_in_progress", this, ExportSlots::inUse)
        .description("Exports holding a slot: reading ClickHouse or writing to their client")
        .register(metrics);
  }

  private static Counter refusals(MeterRegistry metrics, String limit) {
    return Counter.builder("activity_export_refusals")
        .description(
            "Exports answered 429 because the account's limit or the total limit was reached")
        .tag("limit", limit)
        .register(metrics);
  }

  /**
   * A slot for an export of {@code account}, or null when the account's limit or the total limit is
   * reached.
   */
  public synchronized Slot tryAcquire(String account) {
    int mine = byAccount.getOrDefault(account, 0);
    if (mine >= perAccount) {
      refusedForAccount.increment();
      return null;
    }
    if (inUse >= total) {
      refusedForTotal.increment();
      return null;
    }
    byAccount.put(account, mine + 1);
    inUse++;
    return new Slot(account);
  }

  /** The message of a 429. */
  public String refusal() {
    return "Too many exports at once (at most "
        + perAccount
        + " per account and "
        + total
        + " in all); retry later";
  }

  private synchronized double inUse() {
    return inUse;
  }

  private synchronized void release(String account) {
    byAccount.computeIfPresent(account, (a, n) -> n == 1 ? null : n - 1);
    inUse--;
  }

  /** One export's slot; giving it back more than once is harmless. */
  public final class Slot {
    private final String account;
    private final AtomicBoolean released = new AtomicBoolean();

    private Slot(String account) {
      this.account = account;
    }

    public void release() {
      if (released.compareAndSet(false, true)) {
        ExportSlots.this.release(account);
      }
    }
  }
}
