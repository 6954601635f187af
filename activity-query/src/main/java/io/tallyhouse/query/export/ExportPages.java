package io.tallyhouse.query.export;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamWriteFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vertx.core.buffer.Buffer;
import java.util.List;

/**
 * Reads an export's keyset pages and writes them: a JSON page with the cursor of the next, or a
 * page of CSV text with the request of the next.
 */
public final class ExportPages {

  /** Rows read from ClickHouse per keyset page while streaming CSV. */
  public static final int CSV_PAGE_ROWS = 10_000;

  private static final ObjectMapper JSON =
      JsonMapper.builder().enable(StreamWriteFeature.WRITE_BIGDECIMAL_AS_PLAIN).build();

  private final ExportRepository repository;
  private final int csvPageRows;

  /**
   * @param csvPageRows rows per keyset page of a CSV export ({@link #CSV_PAGE_ROWS}; fewer make a
   *     small CSV span several pages)
   */
  public ExportPages(ExportRepository repository, int csvPageRows) {
    this.repository = repository;
    this.csvPageRows = csvPageRows;
  }

  /** The JSON page of {@code request}: {@code {"data":[...],"next_cursor":...}}. */
  public String jsonPage(String account, ExportRequest request) throws JsonProcessingException {
    // One row more than asked says whether a next page exists without an empty last page.
    List<ExportRow> rows = repository.page(account, request, request.limit() + 1);
    ObjectNode root = JSON.createObjectNode();
    ArrayNode data = root.putArray("data");
    for (int i = 0; i < Math.min(rows.size(), request.limit()); i++) {
      rows.get(i).writeTo(data.addObject());
    }
    if (rows.size() > request.limit()) {
      root.put("next_cursor", ExportCursor.encode(rows.get(request.limit() - 1).values(), request));
    } else {
      root.putNull("next_cursor");
    }
    return JSON.writeValueAsString(root);
  }

  /**
   * One keyset page of CSV text (after the header line when {@code first}), and the request of the
   * next page unless this one was the last.
   */
  public CsvExport.Page csvPage(String account, ExportRequest request, boolean first) {
    List<ExportRow> page = repository.page(account, request, csvPageRows);
    StringBuilder chunk = new StringBuilder(page.size() * 160 + 200);
    if (first) {
      chunk.append(ExportRow.csvHeader(request.groupColumns()));
    }
    for (ExportRow row : page) {
      row.appendCsv(chunk);
    }
    ExportRequest next =
        page.size() < csvPageRows ? null : request.after(page.get(page.size() - 1).values());
    return new CsvExport.Page(Buffer.buffer(chunk.toString()), next);
  }
}
