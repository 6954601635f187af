package io.tallyhouse.common.clickhouse;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Reads a JSONEachRow answer ({@link ClickHouse#queryJsonEachRow}) as the text of each selected
 * value, token by token: a number is kept exactly as the server printed it (a decimal never passes
 * through a double, a UInt64 is the same text whether quoted or not), and no JSON tree is built per
 * row.
 */
public final class JsonEachRowText {

  private static final JsonFactory JSON = new JsonFactory();

  private final Map<String, Integer> index = new HashMap<>();

  /** A reader of {@code columns}; other fields of a row are skipped. */
  public JsonEachRowText(List<String> columns) {
    for (String column : columns) {
      if (index.putIfAbsent(column, index.size()) != null) {
        throw new IllegalArgumentException("column " + column + " named twice");
      }
    }
  }

  /**
   * Hands every row of {@code rows} to {@code sink} as an array of texts in the order of the
   * columns (null for a column the row lacks). The array is reused for the next row.
   */
  public void read(byte[] rows, Consumer<String[]> sink) {
    String[] row = new String[index.size()];
    try (JsonParser parser = JSON.createParser(rows)) {
      while (parser.nextToken() == JsonToken.START_OBJECT) {
        Arrays.fill(row, null);
        while (parser.nextToken() == JsonToken.FIELD_NAME) {
          Integer column = index.get(parser.currentName());
          parser.nextToken();
          if (column != null) {
            row[column] = parser.getText();
          } else {
            parser.skipChildren();
          }
        }
        sink.accept(row);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("unreadable rows from ClickHouse", e);
    }
  }

  /** The text of {@code column} in {@code row}; a row without it is a broken answer. */
  public String value(String[] row, String column) {
    Integer at = index.get(column);
    if (at == null) {
      throw new IllegalArgumentException("not a column of this reader: " + column);
    }
    String value = row[at];
    if (value == null) {
      throw new IllegalStateException("ClickHouse row without " + column);
    }
    return value;
  }
}
