package io.tallyhouse.query.event;

import io.tallyhouse.query.activity.InvalidParameterException;
import io.tallyhouse.schemas.contract.EventRules;

/**
 * The validated request of one {@code GET /api/v1/events/{event_id}}. Built only by {@link #parse},
 * so the id past it follows the contract's event_id rule.
 *
 * @param eventId the event's id, percent-decoded from the path
 */
public record EventRequest(String eventId) {

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
}
