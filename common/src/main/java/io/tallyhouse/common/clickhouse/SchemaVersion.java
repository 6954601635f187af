package io.tallyhouse.common.clickhouse;

import io.tallyhouse.common.clickhouse.Migrations.Migration;
import java.util.List;

/**
 * The services' check at start: the database holds every migration this build needs, applied by
 * {@code tallyhouse migrate}; the services never change the schema themselves. Only SELECTs, so a
 * read-only ClickHouse user passes it. A database ahead of this build (migrated for the next
 * release while this one still runs) passes: migrations only add, so the previous build keeps
 * working during a rolling upgrade.
 */
public final class SchemaVersion {

  private SchemaVersion() {}

  /** The database's schema is behind this build, or was never migrated. */
  public static final class BehindException extends IllegalStateException {
    BehindException(String message) {
      super(message);
    }
  }

  /**
   * Returns the layout the database was migrated in; throws {@link BehindException} (saying what to
   * run) when a migration of this build is missing, and ClickHouseException when ClickHouse does
   * not answer.
   */
  public static SchemaLayout require(ClickHouse clickHouse) {
    return require(clickHouse, Migrations.tallyhouseTables());
  }

  static SchemaLayout require(ClickHouse clickHouse, List<Migration> needed) {
    String database = clickHouse.database();
    String latest = needed.get(needed.size() - 1).name();
    SchemaState state = SchemaState.read(clickHouse);
    if (!state.databaseExists()) {
      throw behind("ClickHouse database " + database + " does not exist", latest, null);
    }
    if (state.applied().isEmpty()) {
      throw behind(
          "ClickHouse database " + database + " has no migration recorded in schema_migrations",
          latest,
          null);
    }
    SchemaLayout layout = state.layout().orElseThrow();
    for (Migration migration : needed) {
      if (!state.applied().containsKey(migration.version())) {
        String at = state.applied().get(state.applied().lastKey());
        boolean gap = state.applied().lastKey() > migration.version();
        throw behind(
            "ClickHouse database "
                + database
                + " is at migration "
                + stripSql(at)
                + (gap ? " but lacks " + stripSql(migration.name()) : ""),
            latest,
            layout);
      }
    }
    return layout;
  }

  private static BehindException behind(String where, String latest, SchemaLayout layout) {
    String run =
        layout == null
            ? "run `tallyhouse migrate` (make migrate; with --cluster NAME on a ClickHouse cluster)"
            : "run `"
                + layout.migrateCommand()
                + "`"
                + (layout.isCluster() ? "" : " (make migrate)");
    return new BehindException(where + ", this build needs " + stripSql(latest) + ": " + run);
  }

  private static String stripSql(String file) {
    return file.endsWith(".sql") ? file.substring(0, file.length() - 4) : file;
  }
}
