package io.tallyhouse.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class NetworkLinkTest {

  /** How long a read waits for bytes that a cut link must hold back. */
  private static final int HELD_MS = 300;

  private ServerSocket echo;
  private NetworkLink link;

  @BeforeEach
  void start() throws IOException {
    echo = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread acceptor = new Thread(this::echoLoop, "echo");
    acceptor.setDaemon(true);
    acceptor.start();
    link =
        NetworkLink.open(
            new InetSocketAddress(InetAddress.getLoopbackAddress(), Ports.freePort()),
            new InetSocketAddress(InetAddress.getLoopbackAddress(), echo.getLocalPort()));
  }

  @AfterEach
  void stop() throws IOException {
    link.close();
    echo.close();
  }

  @Test
  void relaysBothWays() throws IOException {
    try (Socket socket = connect()) {
      send(socket, "hello");
      assertEquals("hello", receive(socket, 5));
    }
  }

  @Test
  void anEndOfStreamIsPassedOnBothWays() throws IOException {
    try (Socket socket = connect()) {
      send(socket, "bye");
      socket.shutdownOutput();
      // The echo server sees the end, answers what it got and closes: so does the link.
      assertEquals("bye", receive(socket, 3));
      assertEquals(-1, socket.getInputStream().read());
    }
  }

  @Test
  void aCutHoldsTheBytesOfAnOpenConnectionWithoutClosingItAndTheHealDeliversThem()
      throws IOException {
    try (Socket socket = connect()) {
      send(socket, "before");
      assertEquals("before", receive(socket, 6));

      link.cut();
      assertTrue(link.isCut());
      send(socket, "during");
      socket.setSoTimeout(HELD_MS);
      assertThrows(SocketTimeoutException.class, () -> socket.getInputStream().read());

      link.heal();
      socket.setSoTimeout(0);
      assertEquals("during", receive(socket, 6));
    }
  }

  @Test
  void aConnectDuringACutGetsNoAnswerAndOneStillTryingGetsThroughAfterTheHeal() throws Exception {
    link.cut();
    try (Socket socket = new Socket()) {
      assertThrows(
          SocketTimeoutException.class, () -> socket.connect(link.listenAddress(), HELD_MS));
    }
    // A connect with time to spare retransmits its SYN until the link answers again.
    CompletableFuture<Socket> patient =
        CompletableFuture.supplyAsync(
            () -> {
              Socket socket = new Socket();
              try {
                socket.connect(link.listenAddress(), 60_000);
                return socket;
              } catch (IOException e) {
                throw new UncheckedIOException(e);
              }
            });
    link.heal();
    try (Socket socket = patient.get(2, TimeUnit.MINUTES)) {
      send(socket, "knock");
      assertEquals("knock", receive(socket, 5));
    }
  }

  @Test
  void aLinkCutTwiceAndHealedRelaysAgain() throws IOException {
    link.cut();
    link.cut();
    link.heal();
    assertFalse(link.isCut());
    try (Socket socket = connect()) {
      send(socket, "again");
      assertEquals("again", receive(socket, 5));
    }
  }

  @Test
  void aTargetThatRefusesClosesTheRelayedConnection() throws IOException {
    // The target is a port bound but not listening: the kernel refuses connects to it, and while
    // it stays bound nothing else can take it. A closed listener's freed port could be taken
    // meanwhile by another process's server, and the link would reach that and relay nothing.
    try (Socket refusing = new Socket()) {
      refusing.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
      try (NetworkLink refusingLink =
              NetworkLink.open(
                  new InetSocketAddress(InetAddress.getLoopbackAddress(), Ports.freePort()),
                  (InetSocketAddress) refusing.getLocalSocketAddress());
          Socket socket = connect(refusingLink)) {
        // Bounded, so that a link that neither closes nor relays fails here instead of hanging.
        socket.setSoTimeout(120_000);
        int read;
        try {
          read = socket.getInputStream().read();
        } catch (SocketException reset) {
          read = -1;
        }
        assertEquals(-1, read);
      }
    }
  }

  private Socket connect() throws IOException {
    return connect(link);
  }

  private static Socket connect(NetworkLink through) throws IOException {
    Socket socket = new Socket();
    socket.connect(through.listenAddress(), 5_000);
    return socket;
  }

  private static void send(Socket socket, String text) throws IOException {
    socket.getOutputStream().write(text.getBytes(StandardCharsets.US_ASCII));
    socket.getOutputStream().flush();
  }

  private static String receive(Socket socket, int length) throws IOException {
    byte[] bytes = socket.getInputStream().readNBytes(length);
    assertEquals(length, bytes.length, "the connection ended early");
    return new String(bytes, StandardCharsets.US_ASCII);
  }

  private void echoLoop() {
    while (!echo.isClosed()) {
      try {
        Socket accepted = echo.accept();
        Thread worker =
            new Thread(
                () -> {
                  try (accepted) {
                    accepted.getInputStream().transferTo(accepted.getOutputStream());
                  } catch (IOException e) {
                    // the test closed it
                  }
                },
                "echo-worker");
        worker.setDaemon(true);
        worker.start();
      } catch (IOException e) {
        return;
      }
    }
  }
}
