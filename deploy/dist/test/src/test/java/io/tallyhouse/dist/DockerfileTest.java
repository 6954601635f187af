package io.tallyhouse.dist;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The rules of deploy/images/Dockerfile, checked on every build (no container engine needed): the
 * final image runs as a fixed non-root user, has a health check, bakes in no secret, and is made of
 * the distribution.
 */
class DockerfileTest {

  private static final Path DOCKERFILE =
      Path.of(System.getProperty("user.dir"), "..", "..", "images", "Dockerfile").normalize();
  private static final Pattern SECRET_NAME =
      Pattern.compile(".*(PASSWORD|SECRET|TOKEN|CREDENTIAL|PRIVATE|JAAS|_KEY$|_KEY_).*");

  /** One instruction: its keyword and arguments, continuation lines joined, comments left out. */
  record Instruction(String keyword, String arguments) {}

  static List<Instruction> parse(String text) {
    List<Instruction> instructions = new ArrayList<>();
    StringBuilder current = new StringBuilder();
    for (String line : text.split("\n")) {
      String trimmed = line.strip();
      if (current.isEmpty() && (trimmed.isEmpty() || trimmed.startsWith("#"))) {
        continue;
      }
      if (trimmed.startsWith("#")) {
        continue; // a comment inside a continued instruction
      }
      if (trimmed.endsWith("\\")) {
        current.append(trimmed, 0, trimmed.length() - 1).append(' ');
        continue;
      }
      current.append(trimmed);
      String[] parts = current.toString().split("\\s+", 2);
      instructions.add(
          new Instruction(parts[0].toUpperCase(Locale.ROOT), parts.length > 1 ? parts[1] : ""));
      current.setLength(0);
    }
    return instructions;
  }

  /** The instructions of the last stage: what the image is. */
  private static List<Instruction> finalStage() throws IOException {
    List<Instruction> all = parse(Files.readString(DOCKERFILE));
    int from = -1;
    for (int i = 0; i < all.size(); i++) {
      if (all.get(i).keyword().equals("FROM")) {
        from = i;
      }
    }
    assertTrue(from >= 0, "no FROM in " + DOCKERFILE);
    return all.subList(from, all.size());
  }

  private static List<Instruction> named(List<Instruction> instructions, String keyword) {
    return instructions.stream().filter(i -> i.keyword().equals(keyword)).toList();
  }

  @Test
  void theImageRunsAsAFixedNonRootUser() throws IOException {
    List<Instruction> users = named(finalStage(), "USER");
    assertFalse(users.isEmpty(), "no USER: the image would run as root");
    String user = users.get(users.size() - 1).arguments().split(":")[0];
    assertTrue(user.matches("\\d+"), "a numeric uid, so that runAsNonRoot can check it: " + user);
    assertTrue(Integer.parseInt(user) >= 1000, "not a system or root uid: " + user);
  }

  @Test
  void theImageHasAHealthCheckOnLiveness() throws IOException {
    List<Instruction> checks = named(finalStage(), "HEALTHCHECK");
    assertEquals(1, checks.size(), checks.toString());
    assertTrue(checks.get(0).arguments().contains("/health/live"), checks.toString());
  }

  @Test
  void noEnvironmentVariableWithASecretLookingNameHasAValue() throws IOException {
    for (Instruction env : named(parse(Files.readString(DOCKERFILE)), "ENV")) {
      Matcher pair =
          Pattern.compile("([A-Za-z_][A-Za-z0-9_]*)=(\"[^\"]*\"|\\S*)").matcher(env.arguments());
      int found = 0;
      while (pair.find()) {
        found++;
        String name = pair.group(1).toUpperCase(Locale.ROOT);
        assertFalse(
            SECRET_NAME.matcher(name).matches() && !pair.group(2).isEmpty(),
            "ENV bakes a value into a secret-looking variable: " + pair.group());
      }
      assertTrue(found > 0, "ENV in the NAME=value form: " + env);
    }
    for (Instruction arg : named(parse(Files.readString(DOCKERFILE)), "ARG")) {
      assertFalse(
          SECRET_NAME.matcher(arg.arguments().split("=")[0].toUpperCase(Locale.ROOT)).matches(),
          "a build argument is kept in the image's history: " + arg);
    }
  }

  @Test
  void theImageIsMadeOfTheServicesDistribution() throws IOException {
    String dockerfile = Files.readString(DOCKERFILE);
    List<Instruction> all = parse(dockerfile);
    assertTrue(
        named(all, "ADD").stream()
            .anyMatch(
                a ->
                    a.arguments()
                        .contains(
                            "deploy/dist/${SERVICE}/target/tallyhouse-${SERVICE}-${VERSION}.tar.gz")),
        "the tarball of deploy/dist is what the image unpacks");
    assertTrue(
        named(finalStage(), "COPY").stream()
            .anyMatch(c -> c.arguments().startsWith("--from=unpack /opt/tallyhouse ")),
        "the final image copies the unpacked distribution");
    List<Instruction> entry = named(finalStage(), "ENTRYPOINT");
    assertEquals(1, entry.size());
    assertTrue(entry.get(0).arguments().contains("/opt/tallyhouse/bin/"), entry.toString());
    String ignore =
        Files.readString(DOCKERFILE.getParent().getParent().getParent().resolve(".dockerignore"));
    assertTrue(ignore.contains("!deploy/dist/*/target/tallyhouse-*.tar.gz"), ignore);
  }

  @Test
  void theParserJoinsContinuationLinesAndSkipsComments() {
    assertEquals(
        List.of(new Instruction("FROM", "x"), new Instruction("ENV", "A=1  B=2")),
        parse("# c\nFROM x\nenv A=1 \\\n  # inside\n  B=2\n"));
  }
}
