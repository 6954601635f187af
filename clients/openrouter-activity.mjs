// Calls GET /api/v1/activity through OpenRouter's own TypeScript SDK (@openrouter/sdk), as an OpenRouter
// client would, against the server at ACTIVITY_API_URL (the base the SDK appends /activity to, e.g.
// http://127.0.0.1:8081/api/v1).
//
// CALLS is a JSON array of {"name": ..., "key": <bearer secret>, "request": <getUserActivity's request>}.
// For each call, one JSON line on stdout: {"name", "result": <what the SDK returned>} or
// {"name", "error": <the SDK's error class>, "status": <HTTP status>, "message": <the answer's message>}.
// The SDK checks every answer against its own schemas (zod), so an answer that drifts from OpenRouter's wire
// format shows as a ResponseValidationError here, never as a silently accepted result.
// Exit code 0 when every call was made and reported (an error answer is a result), 1 otherwise.
import { OpenRouter } from "@openrouter/sdk";
import { OpenRouterError } from "@openrouter/sdk/models/errors";
import { print, required } from "./script-io.mjs";

const serverURL = required("ACTIVITY_API_URL");
const calls = JSON.parse(required("CALLS"));

for (const call of calls) {
  const client = new OpenRouter({
    apiKey: call.key,
    serverURL,
    // A test wants the first answer: the SDK's default retries 5XX and connection errors for up to an hour.
    retryConfig: { strategy: "none" },
    timeoutMs: 30_000,
  });
  try {
    const result = await client.analytics.getUserActivity(call.request);
    print({ name: call.name, result });
  } catch (err) {
    print(describe(call.name, err));
  }
}

function describe(name, err) {
  if (err instanceof OpenRouterError) {
    return {
      name,
      error: err.name,
      status: err.statusCode,
      // The error envelope's message when the SDK parsed one; the validation details otherwise.
      message: err.error?.message ?? (typeof err.pretty === "function" ? err.pretty() : err.message),
    };
  }
  return { name, error: err?.name ?? String(err), message: err?.message ?? String(err) };
}
