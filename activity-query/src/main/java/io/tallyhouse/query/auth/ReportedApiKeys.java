package io.tallyhouse.query.auth;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiPredicate;

/**
 * Whether an account ever reported an {@code api_key_hash} (a filter on a hash it never reported is
 * 404), remembering the positive answers: nothing deletes from {@code api_key_hashes}, so a
 * reported key stays reported. Negative ones are asked again, since the key may be reported next.
 */
public final class ReportedApiKeys {

  /** Positive answers remembered; the set starts over when full. */
  static final int MAX_KNOWN_KEYS = 100_000;

  private record KnownKey(String account, String apiKeyHash) {}

  private final BiPredicate<String, String> lookup;
  private final boolean remember;
  private final Set<KnownKey> known = ConcurrentHashMap.newKeySet();

  /**
   * @param lookup asks ClickHouse whether an (account, hash) was reported
   * @param remember whether positive answers are kept (off with the cache: every check then reads
   *     ClickHouse)
   */
  public ReportedApiKeys(BiPredicate<String, String> lookup, boolean remember) {
    this.lookup = lookup;
    this.remember = remember;
  }

  /**
   * Whether {@code account} ever reported {@code apiKeyHash}: from memory if remembered, else from
   * ClickHouse.
   */
  public boolean known(String account, String apiKeyHash) {
    if (knownInMemory(account, apiKeyHash)) {
      return true;
    }
    boolean reported = lookup.test(account, apiKeyHash);
    if (reported && remember) {
      if (known.size() >= MAX_KNOWN_KEYS) {
        known.clear();
      }
      known.add(new KnownKey(account, apiKeyHash));
    }
    return reported;
  }

  /**
   * Whether {@code account} is remembered to have reported {@code apiKeyHash}; false says "ask
   * ClickHouse".
   */
  public boolean knownInMemory(String account, String apiKeyHash) {
    return known.contains(new KnownKey(account, apiKeyHash));
  }
}
