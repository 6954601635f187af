package io.tallyhouse.common.clickhouse;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies numbered migration files from the classpath, in order, each at most once per database.
 * The folder holds an {@code index.txt} listing the files ({@code 001_usage_daily.sql}, ...),
 * because a folder inside a jar cannot be listed reliably. Every statement must be idempotent
 * ({@code IF NOT EXISTS}), so two instances starting at once cannot break each other.
 */
public final class Migrations {

  private static final Logger LOG = LoggerFactory.getLogger(Migrations.class);

  /** The classpath folder of the Tallyhouse tables' migrations (in the schemas module). */
  public static final String TALLYHOUSE_TABLES = "clickhouse/migrations";

  private Migrations() {}

  /**
   * Applies what is missing of the Tallyhouse tables' migrations; returns the names applied now.
   */
  public static List<String> apply(ClickHouse clickHouse) {
    return apply(clickHouse, TALLYHOUSE_TABLES);
  }

  /** Applies what is missing; returns the names applied now. */
  public static List<String> apply(ClickHouse clickHouse, String classpathFolder) {
    clickHouse.createDatabaseIfMissing();
    clickHouse.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
            + "version UInt32, name String, applied_at DateTime DEFAULT now()"
            + ") ENGINE = MergeTree ORDER BY version");
    Set<Integer> applied = new HashSet<>();
    clickHouse
        .query("SELECT DISTINCT version FROM schema_migrations")
        .forEach(row -> applied.add(Integer.parseInt(row.get("version").asText())));

    List<String> appliedNow = new ArrayList<>();
    for (String file :
        resource(classpathFolder + "/index.txt")
            .lines()
            .map(String::trim)
            .filter(l -> !l.isEmpty() && !l.startsWith("#"))
            .toList()) {
      int version = versionOf(file);
      if (applied.contains(version)) {
        continue;
      }
      for (String statement : statements(resource(classpathFolder + "/" + file))) {
        clickHouse.execute(statement);
      }
      clickHouse.execute(
          "INSERT INTO schema_migrations (version, name) VALUES ("
              + version
              + ", "
              + SqlLiteral.string(file)
              + ")");
      LOG.info("applied ClickHouse migration {} to database {}", file, clickHouse.database());
      appliedNow.add(file);
    }
    return appliedNow;
  }

  static int versionOf(String file) {
    int end = 0;
    while (end < file.length() && Character.isDigit(file.charAt(end))) {
      end++;
    }
    if (end == 0) {
      throw new IllegalStateException("migration file name must start with its number: " + file);
    }
    return Integer.parseInt(file.substring(0, end));
  }

  /**
   * Splits a file into statements at semicolons that end a line; {@code --} comment lines are
   * dropped.
   */
  static List<String> statements(String text) {
    List<String> result = new ArrayList<>();
    StringBuilder current = new StringBuilder();
    for (String line : text.split("\n")) {
      String trimmed = line.trim();
      if (trimmed.startsWith("--") || trimmed.isEmpty()) {
        continue;
      }
      current.append(line).append('\n');
      if (trimmed.endsWith(";")) {
        String statement = current.toString().trim();
        result.add(statement.substring(0, statement.length() - 1));
        current.setLength(0);
      }
    }
    if (!current.toString().isBlank()) {
      result.add(current.toString().trim());
    }
    return result;
  }

  private static String resource(String path) {
    try (InputStream in = Migrations.class.getClassLoader().getResourceAsStream(path)) {
      if (in == null) {
        throw new IllegalStateException("migration resource missing from the classpath: " + path);
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
