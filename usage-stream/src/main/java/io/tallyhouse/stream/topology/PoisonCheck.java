package io.tallyhouse.stream.topology;

import io.tallyhouse.schemas.avro.UsageEvent;
import io.tallyhouse.schemas.contract.EventRules;

/**
 * The contract's rules, checked again on the stream side: the events topic may be written by
 * something other than gateway-ingest, and one bad record must not corrupt a customer's totals. The
 * rules are gateway-ingest's own ({@link EventRules}), so an event ingest accepted is never refused
 * here. They also keep the group-key separator (a control character) out of every field, so a field
 * can never shift the others in the key.
 */
final class PoisonCheck {

  private PoisonCheck() {}

  /** Why the event must not be counted, or null when it is fine. */
  static String problem(UsageEvent e) {
    EventRules.Violation violation = EventRules.violation(e);
    return violation == null ? null : violation.toString();
  }
}
