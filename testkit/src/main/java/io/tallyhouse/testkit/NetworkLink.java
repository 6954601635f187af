package io.tallyhouse.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP relay from a listening address to a target that can be cut and healed like a network
 * partition: while cut, no byte moves in either direction on open connections and a new
 * connection's handshake gets no answer, yet nothing is closed or reset, so each side learns of the
 * cut only through its own timeouts, as across a failed switch. When healed, the held bytes move
 * on, in order, on the same connections, and a connect still retrying gets through. A killed
 * process, in contrast, has the kernel refuse and reset its connections at once.
 *
 * <p>The unanswered handshake comes from the kernel: the link stops accepting and fills its accept
 * queue (backlog 1) with connections of its own, and Linux drops the SYN of a listener whose queue
 * is full, so the client retransmits it until its connect times out. The queue's length is read
 * from {@code /proc/net/tcp}, not guessed from a connect that took long: on a loaded machine a
 * handshake on loopback can take longer than any short timeout.
 */
public final class NetworkLink implements AutoCloseable {

  private static final int CONNECT_TIMEOUT_MS = 5_000;

  /** The listener's backlog: Linux queues one more connection than this, then drops SYNs. */
  private static final int BACKLOG = 1;

  /** The longest a cut may take to fill the accept queue. */
  private static final long FILL_TIMEOUT_MS = 60_000;

  private final ServerSocket server;
  private final InetSocketAddress target;
  private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();

  /** The local ports of the connections that fill the accept queue while cut. */
  private final Set<Integer> fillers = ConcurrentHashMap.newKeySet();

  private final List<Socket> fillerSockets = new CopyOnWriteArrayList<>();

  private final Object gate = new Object();
  private boolean cut;

  /** Whether the accept loop waits for the heal, so it takes nothing from the queue. */
  private boolean acceptorParked;

  private volatile boolean closed;

  private NetworkLink(ServerSocket server, InetSocketAddress target) {
    this.server = server;
    this.target = target;
  }

  /** Listens on {@code listen} and relays every connection to {@code target}. */
  public static NetworkLink open(InetSocketAddress listen, InetSocketAddress target) {
    try {
      ServerSocket server = new ServerSocket();
      server.setReuseAddress(true);
      server.bind(listen, BACKLOG);
      NetworkLink link = new NetworkLink(server, target);
      daemon("link-accept-" + listen.getPort(), link::acceptLoop).start();
      return link;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot listen on " + listen + " for a link to " + target, e);
    }
  }

  public InetSocketAddress listenAddress() {
    return (InetSocketAddress) server.getLocalSocketAddress();
  }

  /** Stops every byte in both directions, on open connections and new ones, until {@link #heal}. */
  public void cut() {
    synchronized (gate) {
      if (cut) {
        return;
      }
      cut = true;
    }
    fillAcceptQueue();
  }

  /** Lets held and new bytes move again. */
  public void heal() {
    synchronized (gate) {
      cut = false;
      gate.notifyAll();
    }
    // The one the accept loop may have taken before it saw the cut is relayed like any other;
    // closed, it ends there.
    fillerSockets.forEach(NetworkLink::closeQuietly);
    fillerSockets.clear();
  }

  public boolean isCut() {
    synchronized (gate) {
      return cut;
    }
  }

  @Override
  public void close() {
    closed = true;
    heal();
    closeQuietly(server);
    sockets.forEach(NetworkLink::closeQuietly);
    fillerSockets.forEach(NetworkLink::closeQuietly);
  }

  private void acceptLoop() {
    while (!closed) {
      Socket client;
      try {
        awaitWholeToAccept();
        client = server.accept();
      } catch (IOException | InterruptedException e) {
        return; // closed
      }
      if (fillers.remove(client.getPort())) {
        closeQuietly(client);
        continue;
      }
      sockets.add(client);
      daemon("link-connect-" + target.getPort(), () -> connect(client)).start();
    }
  }

  /**
   * Connects to the link itself until its accept queue is full while the accept loop waits for the
   * heal; the accept loop may take one connection first, if it was already accepting at the cut.
   */
  private void fillAcceptQueue() {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(FILL_TIMEOUT_MS);
    while (true) {
      int queued = acceptQueueLength();
      if (queued > BACKLOG && acceptorParked()) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(
            "the accept queue of the link on "
                + listenAddress()
                + " did not fill up (queued: "
                + queued
                + ")");
      }
      if (queued > BACKLOG) {
        // Full, but the accept loop may still take one: wait until it parks.
        synchronized (gate) {
          try {
            gate.wait(20);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while cutting the link", e);
          }
        }
        continue;
      }
      Socket filler = new Socket();
      try {
        filler.connect(listenAddress(), CONNECT_TIMEOUT_MS);
        fillers.add(filler.getLocalPort());
        fillerSockets.add(filler);
      } catch (IOException slow) {
        closeQuietly(filler); // the next round reads the queue again
      }
    }
  }

  private boolean acceptorParked() {
    synchronized (gate) {
      return acceptorParked;
    }
  }

  /**
   * The connections waiting in this link's accept queue: for a listening socket, the {@code
   * rx_queue} of {@code /proc/net/tcp} is the accept queue's length.
   */
  private int acceptQueueLength() {
    InetSocketAddress address = listenAddress();
    byte[] ip = address.getAddress().getAddress();
    if (ip.length != 4) {
      throw new IllegalStateException("a link listens on IPv4 only: " + address);
    }
    // The kernel prints the address as a host-order (little-endian) word; Java's sockets are IPv6
    // ones by default, listed in tcp6 with the address mapped (::ffff:a.b.c.d).
    String v4 =
        String.format("%02X%02X%02X%02X:%04X", ip[3], ip[2], ip[1], ip[0], address.getPort());
    Set<String> local = Set.of(v4, "0000000000000000FFFF0000" + v4);
    for (String table : List.of("/proc/net/tcp6", "/proc/net/tcp")) {
      List<String> lines;
      try {
        lines = Files.readAllLines(Path.of(table));
      } catch (NoSuchFileException absent) {
        continue;
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read " + table, e);
      }
      for (String line : lines) {
        String[] fields = line.trim().split("\\s+");
        if (fields.length > 4 && local.contains(fields[1]) && fields[3].equals("0A")) {
          return Integer.parseInt(fields[4].substring(fields[4].indexOf(':') + 1), 16);
        }
      }
    }
    throw new IllegalStateException("no listening socket on " + address + " in /proc/net/tcp*");
  }

  /** Reaches the target once the link is whole, then pumps both ways. */
  private void connect(Socket client) {
    Socket upstream = new Socket();
    sockets.add(upstream);
    try {
      awaitWhole();
      upstream.connect(target, CONNECT_TIMEOUT_MS);
    } catch (IOException | InterruptedException e) {
      // The target refused: so does the link, by closing the client's connection.
      release(client, upstream);
      return;
    }
    AtomicInteger openDirections = new AtomicInteger(2);
    daemon("link-up-" + target.getPort(), () -> pump(client, upstream, openDirections)).start();
    daemon("link-down-" + target.getPort(), () -> pump(upstream, client, openDirections)).start();
  }

  /**
   * Copies {@code from} to {@code to}; an end of stream is passed on as a half close, and the pair
   * is closed once both directions ended (or at once when either fails).
   */
  private void pump(Socket from, Socket to, AtomicInteger openDirections) {
    byte[] buffer = new byte[64 * 1024];
    try {
      InputStream in = from.getInputStream();
      OutputStream out = to.getOutputStream();
      while (true) {
        // Waiting before the read leaves bytes in the sender's buffers, as a partition would;
        // waiting after it holds what was read at the moment of the cut.
        awaitWhole();
        int read = in.read(buffer);
        awaitWhole();
        if (read < 0) {
          to.shutdownOutput();
          if (openDirections.decrementAndGet() == 0) {
            release(from, to);
          }
          return;
        }
        out.write(buffer, 0, read);
        out.flush();
      }
    } catch (IOException | InterruptedException e) {
      // One side went away: so does the other, as a relay must.
      release(from, to);
    }
  }

  private void release(Socket one, Socket other) {
    closeQuietly(one);
    closeQuietly(other);
    sockets.remove(one);
    sockets.remove(other);
  }

  private void awaitWhole() throws InterruptedException {
    synchronized (gate) {
      while (cut && !closed) {
        gate.wait();
      }
    }
  }

  private void awaitWholeToAccept() throws InterruptedException {
    synchronized (gate) {
      while (cut && !closed) {
        acceptorParked = true;
        gate.notifyAll();
        gate.wait();
      }
      acceptorParked = false;
    }
  }

  private static Thread daemon(String name, Runnable body) {
    Thread thread = new Thread(body, name);
    thread.setDaemon(true);
    return thread;
  }

  private static void closeQuietly(AutoCloseable closeable) {
    try {
      closeable.close();
    } catch (Exception e) {
      // closing a relay's socket: nothing to do
    }
  }
}
