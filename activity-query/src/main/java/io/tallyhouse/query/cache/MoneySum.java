package io.tallyhouse.query.cache;

import io.tallyhouse.query.json.JsonBytes;
import io.tallyhouse.schemas.contract.Money;
import java.math.BigDecimal;
import java.math.BigInteger;

/**
 * A running exact sum of amounts at {@link Money#SCALE}: a long while it fits, a BigInteger after.
 */
final class MoneySum implements Comparable<MoneySum> {

  private long unscaled;
  private BigInteger big;

  /** Adds an amount given as its unscaled long. */
  void add(long value) {
    if (big == null) {
      long sum = unscaled + value;
      // Overflow iff both operands have the sign the sum lacks.
      if (((unscaled ^ sum) & (value ^ sum)) >= 0) {
        unscaled = sum;
        return;
      }
      big = BigInteger.valueOf(unscaled);
    }
    big = big.add(BigInteger.valueOf(value));
  }

  void add(BigDecimal value) {
    if (big == null) {
      big = BigInteger.valueOf(unscaled);
    }
    big = big.add(Money.unscaled(value));
  }

  BigDecimal value() {
    return big == null ? Money.ofUnscaled(unscaled) : Money.ofUnscaled(big);
  }

  /** Writes the sum as a plain JSON number, without building a BigDecimal while it fits a long. */
  void writeTo(JsonBytes out) {
    if (big == null) {
      out.appendMoney(unscaled);
    } else {
      out.appendMoney(value());
    }
  }

  @Override
  public int compareTo(MoneySum other) {
    if (big == null && other.big == null) {
      return Long.compare(unscaled, other.unscaled);
    }
    return unscaledValue().compareTo(other.unscaledValue());
  }

  private BigInteger unscaledValue() {
    return big == null ? BigInteger.valueOf(unscaled) : big;
  }
}
