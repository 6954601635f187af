package io.tallyhouse.testkit;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/** Free local ports for servers that need fixed ports across a restart. */
public final class Ports {

  /**
   * Ports are taken below Linux's ephemeral range (32768-60999 by default): a port is chosen
   * seconds before its server binds it (a cluster asks for a dozen first), and in between any
   * outgoing connection could be given an ephemeral port, while nothing takes one from here
   * unasked.
   */
  private static final int FIRST = 20_000;

  private static final int END = 32_000;

  /** Every port handed out in this JVM, so two servers never get the same one. */
  private static final Set<Integer> HANDED_OUT = new HashSet<>();

  private Ports() {}

  public static synchronized int freePort() {
    for (int attempt = 0; attempt < 1_000; attempt++) {
      int port = ThreadLocalRandom.current().nextInt(FIRST, END);
      if (!HANDED_OUT.contains(port) && bindable(port)) {
        HANDED_OUT.add(port);
        return port;
      }
    }
    throw new IllegalStateException("no free local port between " + FIRST + " and " + END);
  }

  private static boolean bindable(int port) {
    try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
      socket.setReuseAddress(true);
      return true;
    } catch (IOException e) {
      return false;
    }
  }
}
