package io.tallyhouse.stream.topology;

import io.tallyhouse.schemas.avro.UsageEvent;

/** A decoded event, or (event null) the original bytes of a poison record. */
record Decoded(UsageEvent event, byte[] raw) {}
