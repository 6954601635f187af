package io.tallyhouse.testkit;

/**
 * The build runs tests in two lanes: surefire runs the fast lane ({@code make check}), tests that
 * need no server; failsafe runs the tests named {@code *IntegrationTest}, which share real servers.
 * A test in the fast lane that reaches for a server would slow the lane down, or pass there only
 * because a server happened to be up, so every server start asks this class first and fails loudly
 * in the fast lane.
 */
public final class TestLane {

  /** The system property surefire sets (parent pom) to mark the fast lane. */
  static final String PROPERTY = "tallyhouse.test.lane";

  private TestLane() {}

  /** Throws when the calling test runs in the fast lane. */
  static void requireServersAllowed(String server) {
    if ("unit".equals(System.getProperty(PROPERTY))) {
      throw new IllegalStateException(
          server
              + " requested by a test in the fast (surefire) lane: a test that needs"
              + " a real server must be named *IntegrationTest, so that failsafe runs it with the shared servers");
    }
  }
}
