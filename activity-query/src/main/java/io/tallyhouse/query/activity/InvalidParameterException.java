package io.tallyhouse.query.activity;

/**
 * A query parameter the API rejects with 400; the message is shown to the caller and names the
 * parameter.
 */
public final class InvalidParameterException extends RuntimeException {

  public InvalidParameterException(String message) {
    super(message, null, false, false);
  }
}
