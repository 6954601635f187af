package io.tallyhouse.ingest.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * The in-flight limit: bytes held until answered, a request alone always admitted, gzip growth
 * counted.
 */
class AdmissionTest {

  @Test
  void aRequestPastTheLimitIsRefusedUntilTheBytesInFlightAreReleased() {
    Admission admission = new Admission(1000);
    Admission.Reservation first = admission.admit(600);
    assertNotNull(first);
    assertNull(admission.admit(500), "600 + 500 bytes exceed the limit");
    assertEquals(600, admission.inFlightBytes(), "a refused request holds nothing");
    Admission.Reservation second = admission.admit(400);
    assertNotNull(second, "exactly at the limit");
    first.release();
    second.release();
    assertEquals(0, admission.inFlightBytes());
    assertNotNull(admission.admit(500));
  }

  @Test
  void aRequestAloneIsAdmittedWhateverItsSize() {
    Admission admission = new Admission(1000);
    Admission.Reservation big = admission.admit(5000);
    assertNotNull(big);
    assertTrue(big.take(5000), "its gzip growth too, while it is alone");
    assertEquals(10_000, admission.inFlightBytes());
    assertNull(admission.admit(1));
  }

  @Test
  void decodedBytesCountAndAreRefusedPastTheLimitWhenOthersHoldBytes() {
    Admission admission = new Admission(1000);
    Admission.Reservation other = admission.admit(500);
    Admission.Reservation gzip = admission.admit(100);
    assertTrue(gzip.take(400));
    assertFalse(gzip.take(1), "500 + 100 + 400 is the limit");
    assertEquals(1000, admission.inFlightBytes());
    gzip.release();
    other.release();
    assertEquals(0, admission.inFlightBytes());
  }

  @Test
  void drainingStopsAdmittingAndReturnsOnceTheRequestsInFlightAreAnswered() {
    Admission admission = new Admission(1000);
    Admission.Reservation inFlight = admission.admit(10);
    Thread answer = new Thread(inFlight::release);
    assertFalse(admission.draining());
    answer.start();
    admission.drain(Duration.ofMinutes(5));
    assertTrue(admission.draining());
    assertEquals(0, admission.inFlightBytes(), "drain returned once the request was answered");
  }
}
