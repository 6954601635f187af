package io.tallyhouse.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * Self-signed key pairs made for one test run by the JDK's keytool (PKCS12), so nothing secret
 * lives in the repository. Every certificate made here is also imported into one PKCS12 truststore
 * and exported as PEM, for clients that take a CA file instead (ClickHouse users, curl).
 */
public final class TlsCertificates {

  /**
   * The host name local TLS servers are reached by; their certificates name only it, so a client
   * that goes to 127.0.0.1 instead proves that host names are checked.
   */
  public static final String LOCAL_HOST = "localhost";

  /** The subject alternative names of a local server's certificate. */
  public static final String LOCAL_SERVER_NAMES = "dns:" + LOCAL_HOST;

  private final Path dir;
  private final String storePassword;

  private TlsCertificates(Path dir, String storePassword) {
    this.dir = dir;
    this.storePassword = storePassword;
  }

  /** Certificates kept in {@code dir}, every store protected by {@code storePassword}. */
  public static TlsCertificates in(Path dir, String storePassword) {
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create " + dir, e);
    }
    return new TlsCertificates(dir, storePassword);
  }

  /**
   * Makes a key pair for {@code owner} with subject {@code CN=cn} and, when {@code names} is not
   * null, those subject alternative names (keytool's SAN syntax, e.g. {@link #LOCAL_SERVER_NAMES});
   * exports its certificate as PEM and adds it to the truststore.
   */
  public TlsCertificates keyPair(String owner, String cn, String names) {
    List<String> generate =
        new ArrayList<>(
            List.of(
                "-genkeypair",
                "-alias",
                owner,
                "-keyalg",
                "EC",
                "-groupname",
                "secp256r1",
                "-dname",
                "CN=" + cn,
                "-validity",
                "2",
                "-keystore",
                keystore(owner).toString(),
                "-storetype",
                "PKCS12",
                "-storepass",
                storePassword,
                "-keypass",
                storePassword));
    if (names != null) {
      generate.addAll(List.of("-ext", "SAN=" + names));
    }
    run(keytool(generate));
    run(
        keytool(
            List.of(
                "-exportcert",
                "-rfc",
                "-alias",
                owner,
                "-keystore",
                keystore(owner).toString(),
                "-storetype",
                "PKCS12",
                "-storepass",
                storePassword,
                "-file",
                certificate(owner).toString())));
    run(
        keytool(
            List.of(
                "-importcert",
                "-noprompt",
                "-alias",
                owner,
                "-file",
                certificate(owner).toString(),
                "-keystore",
                truststore().toString(),
                "-storetype",
                "PKCS12",
                "-storepass",
                storePassword)));
    return this;
  }

  /** The PKCS12 keystore holding {@code owner}'s key pair. */
  public Path keystore(String owner) {
    return dir.resolve(owner + ".p12");
  }

  /** {@code owner}'s certificate, PEM. */
  public Path certificate(String owner) {
    return dir.resolve(owner + ".crt");
  }

  /** The PKCS12 truststore holding every certificate made here. */
  public Path truststore() {
    return dir.resolve("truststore.p12");
  }

  public String storePassword() {
    return storePassword;
  }

  /**
   * {@code owner}'s private key as an unencrypted PEM file (for servers such as ClickHouse that
   * read PEM only), written by openssl from the keystore on first use.
   */
  public Path privateKeyPem(String owner) {
    Path pem = dir.resolve(owner + ".key");
    if (!Files.exists(pem)) {
      run(
          List.of(
              "openssl",
              "pkcs12",
              "-in",
              keystore(owner).toString(),
              "-nocerts",
              "-nodes",
              "-passin",
              "pass:" + storePassword,
              "-out",
              pem.toString()));
    }
    return pem;
  }

  /** A client TLS context that trusts exactly the certificates made here. */
  public SSLContext clientContext() {
    try (InputStream in = Files.newInputStream(truststore())) {
      KeyStore trusted = KeyStore.getInstance("PKCS12");
      trusted.load(in, storePassword.toCharArray());
      TrustManagerFactory factory =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      factory.init(trusted);
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(null, factory.getTrustManagers(), null);
      return context;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot load " + truststore(), e);
    }
  }

  private static List<String> keytool(List<String> arguments) {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
    command.addAll(arguments);
    return command;
  }

  private static void run(List<String> command) {
    String what = Path.of(command.get(0)).getFileName() + " " + command.get(1);
    try {
      Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
      String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!process.waitFor(60, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new IllegalStateException(what + " did not finish");
      }
      if (process.exitValue() != 0) {
        throw new IllegalStateException(
            what + " failed (exit " + process.exitValue() + "): " + output.trim());
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run " + what, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while running " + what, e);
    }
  }
}
