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
  // The limits are the server's to set (25 MB a file, 50 MB a message by
  // default): the sentence names none.
  40005: "That's too large to upload. Try smaller files, or fewer at once.",
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
  // A proxy in front of the server may refuse a large body with a page of
  // its own rather than Discord's JSON.
  if (status === 413) return MESSAGES[40005];
  if (body && body.code === 50035) {
    const errs = fieldErrors(body.errors);
    if (errs.length) return errs.map((e) => e.message).filter((m, i, all) => all.indexOf(m) === i).join(" ");
  }
  if (body && MESSAGES[body.code]) return MESSAGES[body.code];
  if (status >= 500) return "The server had a problem. Try again.";
  return (body && body.message) || `The request failed (${status}).`;
}

/** What an upload that was cancelled rejects with. */
const cancelled = () => Object.assign(new ApiError("The upload was cancelled.", 0, 0, null), { cancelled: true });

/** The parsed body of a response, or an ApiError for a failed one. */
function settle(status, text) {
  let parsed = null;
  try { parsed = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  if (status >= 200 && status < 300) return { ok: true, body: parsed };
  if (status === 401 && token) onUnauthorized();
  return { ok: false, body: parsed, error: new ApiError(describe(status, parsed), status, parsed && parsed.code, parsed) };
}

/** A short rate-limit wait is better done for the user than reported. */
const retryAfter = (status, body) => (status === 429 && body && body.retry_after <= 6 ? body.retry_after * 1000 + 50 : null);
const wait = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * `api("POST", "/guilds", {name})`: resolves to the parsed body (or null).
 * `headers`: more request headers (a moderator's `X-Audit-Log-Reason`).
 */
export async function api(method, path, body, { retry = true, headers: extra = {} } = {}) {
  const headers = { ...extra };
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
  const out = settle(res.status, text);
  if (out.ok) return out.body;
  const ms = retry && retryAfter(res.status, out.body);
  if (ms) {
    await wait(ms);
    return api(method, path, body, { retry: false, headers: extra });
  }
  throw out.error;
}

/**
 * A `multipart/form-data` request (files): through XMLHttpRequest, because
 * fetch reports no upload progress. `onProgress(fraction)` follows the
 * bytes going out; `signal` (an AbortSignal) cancels, rejecting with an
 * ApiError whose `cancelled` is true. Otherwise resolves and fails as api().
 */
export function upload(method, path, form, { onProgress = () => {}, signal, retry = true } = {}) {
  const attempt = () => new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    let sent = false;
    xhr.open(method, `/api/v10${path}`);
    if (token) xhr.setRequestHeader("Authorization", token);
    // No Content-Type: the browser writes it, with the boundary.
    xhr.upload.onprogress = (e) => {
      sent = e.loaded > 0;
      if (e.lengthComputable && e.total) onProgress(e.loaded / e.total);
    };
    xhr.onload = () => resolve({ status: xhr.status, text: xhr.responseText });
    xhr.onerror = () => reject(new ApiError(sent
      // A server refusing a body past its limit may close the connection
      // before the browser reads its answer: then all we see is this.
      ? "The upload was cut off. Check your connection, or try smaller files."
      : "The server can't be reached. Check your connection.", 0, 0, null));
    xhr.onabort = () => reject(cancelled());
    if (signal) {
      if (signal.aborted) { reject(cancelled()); return; }
      signal.addEventListener("abort", () => xhr.abort(), { once: true });
    }
    xhr.send(form);
  });
  return attempt().then(async ({ status, text }) => {
    const out = settle(status, text);
    if (out.ok) return out.body;
    const ms = retry && retryAfter(status, out.body);
    if (ms) {
      await wait(ms);
      if (signal && signal.aborted) throw cancelled();
      onProgress(0);
      return upload(method, path, form, { onProgress, signal, retry: false });
    }
    throw out.error;
  });
}
