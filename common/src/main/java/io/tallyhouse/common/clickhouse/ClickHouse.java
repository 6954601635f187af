package io.tallyhouse.common.clickhouse;

import com.clickhouse.client.api.Client;
import com.clickhouse.client.api.insert.InsertSettings;
import com.clickhouse.client.api.query.QueryResponse;
import com.clickhouse.client.api.query.QuerySettings;
import com.clickhouse.data.ClickHouseFormat;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * ClickHouse over HTTP through client-v2, using only raw text formats: that is the subset that
 * works on both 18.16 and current releases (typed readers, server-side parameters and error parsing
 * do not). Results are read as JSONEachRow; callers select decimals with {@code toString(...)} so
 * money never passes through a binary floating-point number.
 */
public final class ClickHouse implements AutoCloseable {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final ClickHouseConfig config;
  private final Client client;

  public ClickHouse(ClickHouseConfig config) {
    this.config = config;
    Client.Builder builder =
        new Client.Builder()
            .addEndpoint(config.url())
            .setUsername(config.user())
            .setPassword(config.password())
            .compressServerResponse(false)
            .compressClientRequest(false)
            .useHttpCompression(false)
            .setSocketTimeout(config.timeout().toMillis(), ChronoUnit.MILLIS)
            .setConnectTimeout(Math.min(5_000, config.timeout().toMillis()), ChronoUnit.MILLIS)
            .setMaxRetries(0);
    // Only the CA is given: client-v2 then verifies the host name against the certificate (its
    // SNI option would switch that check off, so it is never set).
    if (config.caCertificate() != null) {
      builder.setRootCertificate(config.caCertificate().toString());
    }
    this.client = builder.build();
  }

  public ClickHouseConfig config() {
    return config;
  }

  public String database() {
    return config.database();
  }

  /** Creates the configured database if it is missing (run before anything else touches it). */
  public void createDatabaseIfMissing() {
    executeOutsideDatabase(
        "CREATE DATABASE IF NOT EXISTS " + SqlLiteral.identifier(config.database()));
  }

  /**
   * Runs a statement in the session database {@code default}: one that creates the configured
   * database (e.g. ON CLUSTER), which no statement can run inside before it exists.
   */
  public void executeOutsideDatabase(String sql) {
    run(sql, "default", Map.of());
  }

  /** Runs a statement that returns no rows (DDL, ALTER, INSERT ... SELECT). */
  public void execute(String sql) {
    execute(sql, Map.of());
  }

  /**
   * As {@link #execute(String)}, with the server settings {@code serverSettings} (e.g. {@link
   * SchemaLayout#insertSettings()} for an INSERT ... SELECT).
   */
  public void execute(String sql, Map<String, String> serverSettings) {
    run(sql, config.database(), serverSettings);
  }

  /** Inserts rows given as JSONEachRow bytes (one JSON object per line) into {@code table}. */
  public void insertJsonEachRow(String table, byte[] rows) {
    // 18.16 ignores the X-ClickHouse-Database header client-v2 sends; the URL parameter works
    // everywhere.
    InsertSettings settings =
        new InsertSettings()
            .setDatabase(config.database())
            .serverSetting("database", config.database());
    try {
      client
          .insert(
              SqlLiteral.identifier(table),
              new ByteArrayInputStream(rows),
              ClickHouseFormat.JSONEachRow,
              settings)
          .get(config.timeout().toMillis(), TimeUnit.MILLISECONDS)
          .close();
    } catch (Exception e) {
      throw failure("insert into " + table, e);
    }
  }

  /**
   * Inserts rows in TabSeparated (built with {@link TabSeparated}) into the named {@code columns}
   * of {@code table}: cheaper than JSONEachRow for both sides, and naming the columns keeps it
   * independent of the table's column order.
   */
  public void insertTabSeparated(String table, List<String> columns, byte[] rows) {
    insertTabSeparated(table, columns, new ByteArrayInputStream(rows));
  }

  /**
   * As {@link #insertTabSeparated(String, List, byte[])}, the rows read from a stream (e.g. a
   * reused buffer).
   */
  public void insertTabSeparated(String table, List<String> columns, InputStream rows) {
    insertTabSeparated(table, columns, rows, Map.of());
  }

  /**
   * As {@link #insertTabSeparated(String, List, InputStream)}, with the server settings {@code
   * serverSettings} (e.g. {@link SchemaLayout#insertSettings()}).
   */
  public void insertTabSeparated(
      String table, List<String> columns, InputStream rows, Map<String, String> serverSettings) {
    InsertSettings settings =
        new InsertSettings()
            .setDatabase(config.database())
            .serverSetting("database", config.database());
    serverSettings.forEach(settings::serverSetting);
    List<String> names = columns.stream().map(SqlLiteral::identifier).toList();
    try {
      client
          .insert(
              SqlLiteral.identifier(table), names, rows, ClickHouseFormat.TabSeparated, settings)
          .get(config.timeout().toMillis(), TimeUnit.MILLISECONDS)
          .close();
    } catch (Exception e) {
      throw failure("insert into " + table, e);
    }
  }

  /** Runs a SELECT and returns its rows, one JSON object each. */
  public List<JsonNode> query(String sql) {
    return query(sql, config.database());
  }

  /**
   * Runs a SELECT in the session database {@code system}, for questions asked before the configured
   * database is known to exist (ClickHouse refuses every query in a missing one).
   */
  public List<JsonNode> querySystem(String sql) {
    return query(sql, "system");
  }

  private List<JsonNode> query(String sql, String database) {
    QuerySettings settings =
        new QuerySettings()
            .setDatabase(database)
            .setFormat(ClickHouseFormat.JSONEachRow)
            .serverSetting("database", database);
    // 18.16 ignores the format the client asks for out of band; naming it in the statement works
    // everywhere.
    try (QueryResponse response =
            client
                .query(sql + "\nFORMAT JSONEachRow", settings)
                .get(config.timeout().toMillis(), TimeUnit.MILLISECONDS);
        BufferedReader reader =
            new BufferedReader(
                new InputStreamReader(response.getInputStream(), StandardCharsets.UTF_8))) {
      List<JsonNode> rows = new ArrayList<>();
      String line;
      while ((line = reader.readLine()) != null) {
        if (!line.isEmpty()) {
          rows.add(JSON.readTree(line));
        }
      }
      return rows;
    } catch (Exception e) {
      throw failure("query", e);
    }
  }

  /**
   * Runs a SELECT and returns its rows as JSONEachRow text, unparsed: decimals keep their exact
   * digits, and the bytes can be inserted elsewhere as they are.
   */
  public byte[] queryJsonEachRow(String sql) {
    return queryBytes(sql, ClickHouseFormat.JSONEachRow);
  }

  /** Runs a SELECT and returns its rows as TabSeparated text, unparsed. */
  public byte[] queryTabSeparated(String sql) {
    return queryBytes(sql, ClickHouseFormat.TabSeparated);
  }

  private byte[] queryBytes(String sql, ClickHouseFormat format) {
    QuerySettings settings =
        new QuerySettings()
            .setDatabase(config.database())
            .setFormat(format)
            .serverSetting("database", config.database());
    try (QueryResponse response =
            client
                .query(sql + "\nFORMAT " + format.name(), settings)
                .get(config.timeout().toMillis(), TimeUnit.MILLISECONDS);
        InputStream body = response.getInputStream()) {
      return body.readAllBytes();
    } catch (Exception e) {
      throw failure("query", e);
    }
  }

  /** Whether the server answers a trivial query. */
  public boolean ping() {
    try {
      return !query("SELECT 1 AS ok").isEmpty();
    } catch (ClickHouseException e) {
      return false;
    }
  }

  private void run(String sql, String database, Map<String, String> serverSettings) {
    QuerySettings settings =
        new QuerySettings()
            .setDatabase(database)
            .setFormat(ClickHouseFormat.TabSeparated)
            .serverSetting("database", database);
    serverSettings.forEach(settings::serverSetting);
    try (QueryResponse response =
            client.query(sql, settings).get(config.timeout().toMillis(), TimeUnit.MILLISECONDS);
        InputStream body = response.getInputStream()) {
      body.transferTo(OutputSink.INSTANCE);
    } catch (Exception e) {
      throw failure("statement", e);
    }
  }

  private ClickHouseException failure(String what, Exception e) {
    Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
    if (e instanceof InterruptedException) {
      Thread.currentThread().interrupt();
    }
    String detail =
        e instanceof TimeoutException ? "timed out" : String.valueOf(cause.getMessage());
    ConnectionTrouble.Verdict verdict = ConnectionTrouble.explain(config, cause, detail);
    return new ClickHouseException(
        "ClickHouse " + what + " failed: " + verdict.message(), cause, verdict.misconfigured());
  }

  @Override
  public void close() {
    client.close();
  }

  /** Discards a response body that must be read to completion. */
  private static final class OutputSink extends java.io.OutputStream {
    static final OutputSink INSTANCE = new OutputSink();

    @Override
    public void write(int b) {}

    @Override
    public void write(byte[] b, int off, int len) {}
  }
}
