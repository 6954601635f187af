package io.tallyhouse.common.money;

/**
 * A stored or summed amount that no legal events can produce: an error to report, never a number to
 * serve.
 */
public final class ImpossibleTotalException extends IllegalStateException {

  public ImpossibleTotalException(String message) {
    super(message);
  }

  public ImpossibleTotalException(String message, Throwable cause) {
    super(message, cause);
  }
}
