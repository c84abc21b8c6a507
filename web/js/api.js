// The REST API (docs/protocol.md §4): one function that every view uses,
// turning Discord-shaped errors into sentences a person can act on.

let token = null;
let onUnauthorized = () => {};

export function setToken(t) { token = t; }
export function setUnauthorizedHandler(f) { onUnauthorized = f; }

export class ApiError extends Error {
  constructor(message, status, code, body) {
    super(message);
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

const MESSAGES = {
  50001: "You don't have access to that.",
  50013: "You don't have permission to do that.",
  10003: "That channel no longer exists.",
  10004: "That server no longer exists.",
  10006: "That invite is invalid or has expired.",
  10008: "That message no longer exists.",
  40007: "You are banned from that server.",
  50005: "You can only edit your own messages.",
  50006: "You can't send an empty message.",
  50007: "This person doesn't take direct messages from you.",
};

/** Every `_errors` leaf of a 50035 body, as "field: message". */
export function fieldErrors(errors, path = []) {
  const out = [];
  if (!errors || typeof errors !== "object") return out;
  for (const [key, value] of Object.entries(errors)) {
    if (key === "_errors") {
      for (const e of value) out.push({ path: path.join("."), message: e.message, code: e.code });
    } else {
      out.push(...fieldErrors(value, [...path, key]));
    }
  }
  return out;
}

function describe(status, body) {
  if (status === 401) return "Your session has ended. Please log in again.";
  if (status === 429) return "You're doing that too fast. Try again in a moment.";
  if (body && body.code === 50035) {
    const errs = fieldErrors(body.errors);
    if (errs.length) return errs.map((e) => e.message).filter((m, i, all) => all.indexOf(m) === i).join(" ");
  }
  if (body && MESSAGES[body.code]) return MESSAGES[body.code];
  if (status >= 500) return "The server had a problem. Try again.";
  return (body && body.message) || `The request failed (${status}).`;
}

/** `api("POST", "/guilds", {name})`: resolves to the parsed body (or null). */
export async function api(method, path, body, { retry = true } = {}) {
  const headers = {};
  if (token) headers.Authorization = token;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res;
  try {
    res = await fetch(`/api/v10${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError("The server can't be reached. Check your connection.", 0, 0, null);
  }
  const text = await res.text();
  let parsed = null;
  try { parsed = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  if (res.ok) return parsed;
  // A short rate-limit wait is better done for the user than reported.
  if (res.status === 429 && retry && parsed && parsed.retry_after <= 6) {
    await new Promise((r) => setTimeout(r, parsed.retry_after * 1000 + 50));
    return api(method, path, body, { retry: false });
  }
  if (res.status === 401 && token) onUnauthorized();
  throw new ApiError(describe(res.status, parsed), res.status, parsed && parsed.code, parsed);
}
