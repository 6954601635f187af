package io.tallyhouse.query.event;

import io.tallyhouse.query.activity.FilteredRequest;
import io.tallyhouse.query.activity.InvalidParameterException;
import io.tallyhouse.schemas.contract.EventRules;
import java.util.Optional;

/**
 * The validated request of one {@code GET /api/v1/events/{event_id}}. Built only by {@link #parse},
 * so the id past it follows the contract's event_id rule. It has no filters: the event's account is
 * the key's, and an id is looked up, not checked as reported.
 *
 * @param eventId the event's id, percent-decoded from the path
 */
public record EventRequest(String eventId) implements FilteredRequest {

  /** The name the path parameter has in the contract, the OpenAPI document and errors. */
  public static final String EVENT_ID = "event_id";

  /**
   * @param eventId the path segment, already percent-decoded
   * @throws InvalidParameterException naming {@value #EVENT_ID} (never echoing the value) when the
   *     id breaks the contract's rule: no event could have it
   */
  public static EventRequest parse(String eventId) {
    String problem = eventId == null ? "is missing" : EventRules.eventIdProblem(eventId);
    if (problem != null) {
      throw new InvalidParameterException("Parameter " + EVENT_ID + " " + problem);
    }
    return new EventRequest(eventId);
  }

  @Override
  public Optional<String> workspaceId() {
    return Optional.empty();
  }

  @Override
  public Optional<String> apiKeyHash() {
    return Optional.empty();
  }
}
