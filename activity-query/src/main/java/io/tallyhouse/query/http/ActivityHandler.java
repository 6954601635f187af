package io.tallyhouse.query.http;

import io.micrometer.core.instrument.MeterRegistry;
import io.tallyhouse.query.activity.ActivityRequest;
import io.tallyhouse.query.activity.InvalidParameterException;
import io.tallyhouse.query.auth.ManagementKeys;
import io.tallyhouse.query.auth.ReportedFilters;
import io.tallyhouse.query.cache.CompletedDayCache;
import io.tallyhouse.query.json.JsonBytes;
import io.vertx.ext.web.RoutingContext;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/**
 * {@code GET /api/v1/activity}: answered on the event loop when every part of it is in memory, else
 * on a worker thread, which checks everything again in the contract's order and may read
 * ClickHouse.
 */
final class ActivityHandler {

  private static final int ANSWER_CAPACITY = 16 * 1024;

  /** An event loop's answer array larger than this is not kept for the next answer. */
  private static final int MAX_REUSED_CAPACITY = 8 * 1024 * 1024;

  private static final byte[] DATA_START = "{\"data\":[".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] DATA_END = "]}".getBytes(StandardCharsets.US_ASCII);

  private final ManagementKeys keys;
  private final RequestCheck check;
  private final CompletedDayCache activity;
  private final ReportedFilters reported;
  private final MeterRegistry metrics;
  private final int maxItems;

  /** Each event loop's array for the answers it makes from memory. */
  private final ThreadLocal<JsonBytes> answerBuffer =
      ThreadLocal.withInitial(() -> new JsonBytes(ANSWER_CAPACITY));

  ActivityHandler(
      ManagementKeys keys,
      RequestCheck check,
      CompletedDayCache activity,
      ReportedFilters reported,
      MeterRegistry metrics,
      int maxItems) {
    this.keys = keys;
    this.check = check;
    this.activity = activity;
    this.reported = reported;
    this.metrics = metrics;
    this.maxItems = maxItems;
  }

  void handle(RoutingContext ctx) {
    RequestTimer.start(ctx, metrics, ActivityRouter.ROUTE);
    String authorization = ctx.request().getHeader("Authorization");
    Map<String, List<String>> params = QueryString.parseOrNull(ctx.request().query());
    JsonBytes fromMemory;
    try {
      fromMemory = answerFromMemory(authorization, params);
    } catch (InvalidParameterException e) {
      Reply.send(ctx, Reply.error(400, e.getMessage()), null); // the answer is too large
      return;
    } catch (RuntimeException e) {
      Reply.send(ctx, null, e);
      return;
    }
    if (fromMemory != null) {
      Reply.send(ctx, Reply.json(fromMemory), null);
      return;
    }
    // Not ordered: requests must not queue behind each other on the context.
    ctx.vertx()
        .executeBlocking(() -> answer(authorization, params), false)
        .onComplete(
            result -> Reply.send(ctx, result.succeeded() ? result.result() : null, result.cause()));
  }

  /**
   * The answer of a request whose every part is in memory, made on the event loop: a management key
   * that was valid before, valid parameters, every workspace_id and api_key_hash filter remembered
   * as reported, every day cached. Null when any of it is not so; the worker path then answers or
   * refuses it. A hit costs less than a worker's hop and queue, and it never waits for ClickHouse.
   * The key check here may look at the key file's time and size (the store does once a second) but
   * never reads the file for a secret it has not known valid: unknown secrets go to a worker.
   */
  private JsonBytes answerFromMemory(String authorization, Map<String, List<String>> params) {
    if (!keys.knownValid(authorization)) {
      return null;
    }
    RequestCheck.Checked<ActivityRequest> checked =
        check.check(authorization, params, ActivityRequest::parse, reported::knownInMemory);
    if (checked.refusal() != null) {
      return null; // refused by the worker path in the contract's order (a 404 needs ClickHouse
      // anyway)
    }
    // Copied into the response before the event loop takes its next request, so the array is
    // reused: growing a new
    // one to a large account's answer is costly next to the rest of a hit.
    JsonBytes json = answerBuffer.get();
    if (json.capacity() > MAX_REUSED_CAPACITY) {
      json = new JsonBytes(ANSWER_CAPACITY);
      answerBuffer.set(json);
    }
    json.clear().append(DATA_START);
    if (!activity.activityJsonFromMemory(checked.account(), checked.request(), json, maxItems)) {
      return null;
    }
    return json.append(DATA_END);
  }

  /** The answer on a worker thread: every check, then the cache or ClickHouse. */
  private Reply answer(String authorization, Map<String, List<String>> params) {
    RequestCheck.Checked<ActivityRequest> checked =
        check.check(authorization, params, ActivityRequest::parse, reported::known);
    if (checked.refusal() != null) {
      return checked.refusal();
    }
    JsonBytes json = new JsonBytes(ANSWER_CAPACITY);
    json.append(DATA_START);
    try {
      activity.activityJson(checked.account(), checked.request(), json, maxItems);
    } catch (InvalidParameterException e) {
      return Reply.error(400, e.getMessage()); // the answer is too large
    }
    json.append(DATA_END);
    return Reply.json(json);
  }
}
