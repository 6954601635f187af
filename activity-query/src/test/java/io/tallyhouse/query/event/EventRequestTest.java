package io.tallyhouse.query.event;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tallyhouse.query.activity.InvalidParameterException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The event_id rule of the lookup route: the contract's, checked after percent-decoding. */
class EventRequestTest {

  @Test
  void anIdAnEventCouldHaveIsKeptAsItIs() {
    for (String id :
        List.of(
            "gen-1",
            "x",
            "a/b",
            "it's",
            "back\\slash",
            "%00",
            "e".repeat(128),
            "😀".repeat(128),
            "gen+plus")) {
      assertEquals(id, EventRequest.parse(id).eventId());
    }
  }

  @Test
  void anIdNoEventCanHaveIsRefusedNamingTheParameterWithoutEchoingIt() {
    for (String id :
        List.of(
            "",
            "e".repeat(129),
            "nul\0byte",
            "tab\there",
            "new\nline",
            "with space",
            "nbsp\u00a0",
            "lone\ud800")) {
      InvalidParameterException e =
          assertThrows(InvalidParameterException.class, () -> EventRequest.parse(id), id);
      assertTrue(e.getMessage().startsWith("Parameter event_id "), e.getMessage());
      if (!id.isEmpty()) {
        assertFalse(e.getMessage().contains(id), e.getMessage());
      }
    }
    assertThrows(InvalidParameterException.class, () -> EventRequest.parse(null));
  }
}
