package io.tallyhouse.common.clickhouse;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Collections;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * What a database records of its schema, read with SELECTs only (a read-only user can): whether it
 * and {@code schema_migrations} exist, the migrations applied and the layouts they were applied in.
 *
 * @param clusterColumn whether {@code schema_migrations} records the layout (builds before layouts
 *     did not: their databases are single-node)
 * @param applied version to file name
 * @param layouts the distinct layouts recorded (one, unless somebody mixed them by hand)
 */
record SchemaState(
    boolean databaseExists,
    boolean tableExists,
    boolean clusterColumn,
    SortedMap<Integer, String> applied,
    Set<SchemaLayout> layouts) {

  static SchemaState read(ClickHouse clickHouse) {
    String database = SqlLiteral.string(clickHouse.database());
    if (clickHouse
        .querySystem("SELECT name FROM system.databases WHERE name = " + database)
        .isEmpty()) {
      return new SchemaState(false, false, false, Collections.emptySortedMap(), Set.of());
    }
    Set<String> columns = new HashSet<>();
    clickHouse
        .querySystem(
            "SELECT name FROM system.columns WHERE database = "
                + database
                + " AND table = "
                + SqlLiteral.string(Migrations.TABLE))
        .forEach(row -> columns.add(row.get("name").asText()));
    if (columns.isEmpty()) {
      return new SchemaState(true, false, false, Collections.emptySortedMap(), Set.of());
    }
    boolean clusterColumn = columns.contains("cluster");
    SortedMap<Integer, String> applied = new TreeMap<>();
    Set<SchemaLayout> layouts = new HashSet<>();
    for (JsonNode row :
        clickHouse.query(
            "SELECT version, any(name) AS name"
                + (clusterColumn ? ", groupUniqArray(cluster) AS clusters" : "")
                + " FROM "
                + Migrations.TABLE
                + " GROUP BY version")) {
      applied.put(row.get("version").asInt(), row.get("name").asText());
      if (clusterColumn) {
        row.get("clusters").forEach(c -> layouts.add(new SchemaLayout(c.asText())));
      } else {
        layouts.add(SchemaLayout.SINGLE_NODE);
      }
    }
    return new SchemaState(true, true, clusterColumn, applied, Set.copyOf(layouts));
  }

  /** The layout the database was migrated in; empty when nothing was applied yet. */
  Optional<SchemaLayout> layout() {
    if (layouts.size() > 1) {
      throw new IllegalStateException(
          "schema_migrations records migrations of more than one layout: "
              + layouts
              + "; a database has one layout, fix its rows by hand");
    }
    return layouts.stream().findFirst();
  }
}
