package io.tallyhouse.query.auth;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Whether an account ever reported the value of a filter (a workspace in {@code workspaces}, an
 * {@code api_key_hash} in {@code api_key_hashes}; a filter on one it never reported is 404),
 * remembering the positive answers: nothing deletes from either table, so a reported value stays
 * reported. Negative ones are asked again, since the value may be reported next.
 */
public final class ReportedFilters {

  /** A filter whose values an account reports. */
  public enum Filter {
    WORKSPACE_ID("workspace_id", "workspace"),
    API_KEY_HASH("api_key_hash", "api key");

    private final String parameter;
    private final String noun;

    Filter(String parameter, String noun) {
      this.parameter = parameter;
      this.noun = noun;
    }

    /** The 404 message of a value the account never reported; names the parameter. */
    public String unknownMessage() {
      return "Parameter " + parameter + ": no such " + noun + " for this account";
    }
  }

  /** Asks ClickHouse whether {@code account} reported {@code value} of {@code filter}. */
  @FunctionalInterface
  public interface Lookup {
    boolean reported(Filter filter, String account, String value);
  }

  /** Positive answers remembered; the set starts over when full. */
  static final int MAX_KNOWN = 100_000;

  private record Known(Filter filter, String account, String value) {}

  private final Lookup lookup;
  private final boolean remember;
  private final Set<Known> known = ConcurrentHashMap.newKeySet();

  /**
   * @param lookup asks ClickHouse whether an account reported a value
   * @param remember whether positive answers are kept (off with the cache: every check then reads
   *     ClickHouse)
   */
  public ReportedFilters(Lookup lookup, boolean remember) {
    this.lookup = lookup;
    this.remember = remember;
  }

  /**
   * Whether {@code account} ever reported {@code value} of {@code filter}: from memory if
   * remembered, else from ClickHouse.
   */
  public boolean known(Filter filter, String account, String value) {
    if (knownInMemory(filter, account, value)) {
      return true;
    }
    boolean reported = lookup.reported(filter, account, value);
    if (reported && remember) {
      if (known.size() >= MAX_KNOWN) {
        known.clear();
      }
      known.add(new Known(filter, account, value));
    }
    return reported;
  }

  /**
   * Whether {@code account} is remembered to have reported {@code value} of {@code filter}; false
   * says "ask ClickHouse".
   */
  public boolean knownInMemory(Filter filter, String account, String value) {
    return known.contains(new Known(filter, account, value));
  }
}
