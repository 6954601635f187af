package io.tallyhouse.tools;

/**
 * What a command needs cannot be reached or read (exit code {@link ExitCodes#UNAVAILABLE}); says
 * what to check.
 */
public final class Unavailable extends RuntimeException {

  public Unavailable(String message) {
    super(message);
  }
}
