// Reads the events topic from the beginning with kafkajs, as a Confluent-ecosystem consumer would, and
// decodes every record through the schema registry's Confluent API (@kafkajs/confluent-schema-registry:
// magic byte, schema id, Avro body). gateway-ingest compresses with lz4, which kafkajs reads only with a
// codec plugged in (@2l/kafkajs-lz4, prebuilt binaries through lz4-napi, so no compiler is needed).
//
// Environment: KAFKA_BROKERS (comma list), EVENTS_TOPIC, SCHEMA_REGISTRY_URL (the Confluent API's base),
// EXPECTED_RECORDS (reads until that many arrived, then QUIET_MS more so an extra record shows too),
// TIMEOUT_MS (gives up then, exit code 2, having printed what it read). A record that does not decode, or a
// consumer crash kafkajs does not retry (a batch it cannot decompress), ends it with exit code 1 and the reason.
// LZ4_CODEC: lz4-napi (default) or none.
// Prints one JSON line per record: {"partition", "offset", "key", "event": <the decoded record>}; money
// (Avro decimal) as the exact decimal string, timestamps (timestamp-micros) as RFC 3339 with microseconds.
import kafkajs from "kafkajs";
import LZ4Codec from "@2l/kafkajs-lz4";
import registryClient from "@kafkajs/confluent-schema-registry";
import avro from "avsc";
import { print, required } from "./script-io.mjs";

const { Kafka, CompressionTypes, CompressionCodecs, logLevel } = kafkajs;
const { SchemaRegistry, SchemaType } = registryClient;

// LZ4_CODEC=none leaves kafkajs without one, which shows that the topic really holds lz4 batches.
if ((process.env.LZ4_CODEC ?? "lz4-napi") !== "none") {
  CompressionCodecs[CompressionTypes.LZ4] = new LZ4Codec().codec;
}

/** Avro decimal (two's-complement big-endian unscaled value) as an exact decimal string at the schema's scale. */
class DecimalString extends avro.types.LogicalType {
  constructor(schema, opts) {
    super(schema, opts);
    this.scale = schema.scale ?? 0;
  }

  _fromValue(bytes) {
    let unscaled = bytes.length === 0 ? 0n : BigInt("0x" + bytes.toString("hex"));
    if (bytes.length > 0 && bytes[0] & 0x80) {
      unscaled -= 1n << BigInt(8 * bytes.length);
    }
    const negative = unscaled < 0n;
    const digits = (negative ? -unscaled : unscaled).toString().padStart(this.scale + 1, "0");
    const whole = digits.slice(0, digits.length - this.scale);
    const fraction = digits.slice(digits.length - this.scale);
    return (negative ? "-" : "") + whole + (this.scale > 0 ? "." + fraction : "");
  }

  _toValue() {
    throw new Error("this reader only decodes");
  }
}

/** Avro timestamp-micros as RFC 3339 in UTC with all six fractional digits. */
class MicrosInstant extends avro.types.LogicalType {
  _fromValue(micros) {
    const big = BigInt(micros);
    const millis = big / 1000n;
    const iso = new Date(Number(millis)).toISOString(); // ...T10:15:30.123Z
    const extra = (((big % 1000n) + 1000n) % 1000n).toString().padStart(3, "0");
    return iso.slice(0, -1) + extra + "Z";
  }

  _toValue() {
    throw new Error("this reader only decodes");
  }
}

const brokers = required("KAFKA_BROKERS").split(",");
const topic = required("EVENTS_TOPIC");
const expected = Number(required("EXPECTED_RECORDS"));
const quietMs = Number(process.env.QUIET_MS ?? 2000);
const timeoutMs = Number(process.env.TIMEOUT_MS ?? 60000);

const registry = new SchemaRegistry(
  { host: required("SCHEMA_REGISTRY_URL") },
  {
    [SchemaType.AVRO]: {
      logicalTypes: { decimal: DecimalString, "timestamp-micros": MicrosInstant },
    },
  },
);
const kafka = new Kafka({ clientId: "tallyhouse-kafkajs-test", brokers, logLevel: logLevel.WARN });
const consumer = kafka.consumer({ groupId: `kafkajs-test-${process.pid}-${Date.now()}` });

let read = 0;
let failure = null;
let finish;
const finished = new Promise((resolve) => (finish = resolve));
let quietTimer = null;
const deadline = setTimeout(() => finish(2), timeoutMs);

consumer.on(consumer.events.CRASH, ({ payload }) => {
  if (!payload.restart) {
    failure = payload.error;
    process.stderr.write(`the consumer stopped: ${payload.error?.stack ?? payload.error}\n`);
    finish(1);
  }
});

await consumer.connect();
await consumer.subscribe({ topic, fromBeginning: true });
await consumer.run({
  eachMessage: async ({ partition, message }) => {
    try {
      const event = await registry.decode(message.value);
      print({ partition, offset: message.offset, key: message.key?.toString("utf8") ?? null, event });
    } catch (err) {
      failure = err;
      process.stderr.write(`record ${partition}/${message.offset} did not decode: ${err.stack ?? err}\n`);
      finish(1);
      return;
    }
    read++;
    if (read >= expected && quietTimer === null) {
      quietTimer = setTimeout(() => finish(0), quietMs);
    }
  },
});

const code = await finished;
clearTimeout(deadline);
clearTimeout(quietTimer);
await consumer.disconnect();
if (code === 2) {
  process.stderr.write(`read ${read} of ${expected} records within ${timeoutMs} ms\n`);
}
process.exit(failure ? 1 : code);
