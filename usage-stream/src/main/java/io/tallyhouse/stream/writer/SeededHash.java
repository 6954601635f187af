package io.tallyhouse.stream.writer;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * A hash of byte ranges that the senders of the bytes cannot steer, for the writer's tables whose
 * keys hold fields the gateway's customers choose (user ids, endpoints, workspace ids): NH, the
 * universal hash of UMAC, over a header word (the range's length and a tag) and the range's bytes
 * read eight at a time, with keys drawn at random for each instance, then MurmurHash3's finalizer.
 *
 * <p>Whatever two different inputs hold, their 64-bit sums before the finalizer are equal with a
 * probability of at most about 2^-31 over the keys, so a table hashed with it keeps short probe
 * sequences for any set of keys chosen without seeing this process's random keys. A hash such as
 * String.hashCode (which the group key's prefix is made of) has collisions anyone can build ("Aa"
 * and "BB"), and thousands of such keys in one batch would make every insertion walk the whole
 * chain. Not thread-safe: keys for longer inputs are drawn as they first come.
 */
final class SeededHash {

  private static final VarHandle LONGS =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

  private static final long LOW = 0xFFFF_FFFFL;

  private final SplittableRandom random;

  /** NH's keys: two 32-bit halves for each eight-byte word of the input. */
  private long[] keys = new long[0];

  /** Keys from this process's secure random source. */
  SeededHash() {
    this(new SecureRandom().nextLong());
  }

  SeededHash(long seed) {
    random = new SplittableRandom(seed);
    moreKeys(64);
  }

  /** The hash of all of {@code bytes} together with {@code tag}. */
  int hash(byte[] bytes, int tag) {
    return finish(nh(bytes, 0, bytes.length, tag, 0));
  }

  /** The hash of the pair of ranges {@code first[firstFrom, firstTo)}, {@code second[...)}. */
  int hash(byte[] first, int firstFrom, int firstTo, byte[] second, int secondFrom, int secondTo) {
    // One NH over both ranges, each after its own header: the second range's words take the keys
    // after the first's, so the pair is hashed as the one sequence it encodes.
    return finish(
        nh(first, firstFrom, firstTo, 0, 0)
            + nh(second, secondFrom, secondTo, 0, words(firstTo - firstFrom)));
  }

  /** The words NH reads for a range of {@code length} bytes: its header and its bytes. */
  private static int words(int length) {
    return 1 + (length + 7 >>> 3);
  }

  /**
   * NH's sum over the header (the length, and {@code tag} in the upper half) and the bytes of
   * {@code bytes[from, to)} (the last word zero-padded), with the keys from index {@code key}.
   */
  private long nh(byte[] bytes, int from, int to, int tag, int key) {
    int length = to - from;
    if (keys.length < key + words(length)) {
      moreKeys(key + words(length));
    }
    long[] k = keys;
    long sum = term(length & LOW | (long) tag << 32, k[key++]);
    int i = from;
    for (; i <= to - 8; i += 8) {
      sum += term((long) LONGS.get(bytes, i), k[key++]);
    }
    if (i < to) {
      sum += term(tail(bytes, i, to), k[key]);
    }
    return sum;
  }

  /** The one to seven bytes from {@code i} to {@code to}, little-endian like the other words. */
  private static long tail(byte[] bytes, int i, int to) {
    int n = to - i;
    if (to >= 8) {
      // The eight bytes that end at the range's end, the ones before i shifted out.
      return (long) LONGS.get(bytes, to - 8) >>> 8 * (8 - n);
    }
    long word = 0;
    for (int b = to - 1; b >= i; b--) {
      word = word << 8 | bytes[b] & 0xFF;
    }
    return word;
  }

  /** NH's term: the product of the word's halves, each added to its key modulo 2^32. */
  private static long term(long word, long key) {
    return ((word + key) & LOW) * ((word >>> 32) + (key >>> 32) & LOW);
  }

  /** MurmurHash3's finalizer: NH's low bits are uneven, a table's slot needs them spread. */
  private static int finish(long h) {
    h ^= h >>> 33;
    h *= 0xff51afd7ed558ccdL;
    h ^= h >>> 33;
    h *= 0xc4ceb9fe1a85ec53L;
    h ^= h >>> 33;
    return (int) h;
  }

  private void moreKeys(int least) {
    long[] more = Arrays.copyOf(keys, Math.max(least, keys.length * 2));
    for (int i = keys.length; i < more.length; i++) {
      more[i] = random.nextLong();
    }
    keys = more;
  }
}
