// Files for the next message: chosen with the paperclip's picker, pasted
// into the composer or dropped on the chat; shown above the composer as
// cards (a preview, the name, the size, alt text, remove), and sent as
// Discord's multipart body with the upload's progress on screen.

import { upload } from "./api.js";
import { $, dialog, fill, h, icon, notify } from "./dom.js";
import { formatSize } from "./attachments.js";
import { channel, channelLabel, state } from "./state.js";

/** Files one message may carry, as the server (and Discord) allow. */
export const MAX_FILES = 10;
/** The server's default limit per file: refused here rather than after uploading it. */
export const MAX_FILE_BYTES = 25 * 1024 * 1024;
/** Characters of alt text the server keeps. */
const MAX_DESCRIPTION = 1024;

/**
 * The files chosen for each channel's next message: as in Discord, what is
 * attached in one channel waits there while the user looks at another.
 * Each is {key, file, description, preview} (preview: an object URL, for
 * images).
 */
const drafts = new Map();
let nextKey = 1;

const draftOf = (channelId) => drafts.get(channelId) || [];

function setDraft(channelId, list) {
  if (list.length) drafts.set(channelId, list);
  else drafts.delete(channelId);
  if (channelId === state.channelId) renderTray();
}

/** Object URLs hold their file in memory until revoked. */
function release(entries) {
  for (const e of entries) if (e.preview) URL.revokeObjectURL(e.preview);
}

/** Whether the open channel has files waiting to be sent. */
export const hasFiles = () => draftOf(state.channelId).length > 0;

/** Adds files to the open channel's next message, refusing what cannot be sent. */
export function addFiles(files, channelId = state.channelId) {
  if (!channelId || !files.length) return;
  const list = draftOf(channelId).slice();
  const tooLarge = files.filter((f) => f.size > MAX_FILE_BYTES);
  if (tooLarge.length) {
    const names = tooLarge.map((f) => f.name).join(", ");
    notify(`${names} ${tooLarge.length === 1 ? "is" : "are"} too large: files can be up to ${formatSize(MAX_FILE_BYTES)}.`);
  }
  const fits = files.filter((f) => f.size <= MAX_FILE_BYTES);
  const room = MAX_FILES - list.length;
  if (fits.length > room) notify(`You can attach up to ${MAX_FILES} files to a message.`);
  for (const file of fits.slice(0, Math.max(0, room))) {
    // Only images get a preview: the browser shows them from memory.
    const preview = file.type.startsWith("image/") ? URL.createObjectURL(file) : null;
    list.push({ key: nextKey++, file, description: "", preview });
  }
  setDraft(channelId, list);
}

function removeFile(channelId, key) {
  const list = draftOf(channelId);
  release(list.filter((e) => e.key === key));
  setDraft(channelId, list.filter((e) => e.key !== key));
  $("composer-input").focus();
}

async function editAlt(channelId, key) {
  const entry = draftOf(channelId).find((e) => e.key === key);
  if (!entry) return;
  const res = await dialog({
    title: `Alt text for ${entry.file.name}`,
    ok: "Save",
    body: [h("p.hint", {}, "Describe it for people who can't see it; it is shown in place of the image.")],
    fields: [{ name: "description", label: "Alt text", type: "textarea", value: entry.description, maxlength: MAX_DESCRIPTION }],
  });
  // The file may have been sent or removed while the dialog was open.
  if (res && draftOf(channelId).includes(entry)) {
    entry.description = res.description.trim();
    if (channelId === state.channelId) renderTray();
  }
  const button = document.querySelector(`#upload-tray [data-key="${key}"] .upload-alt-button`);
  (button || $("composer-input")).focus();
}

function chip(channelId, e) {
  const name = e.file.name;
  return h("li.upload-chip", { dataset: { key: e.key } },
    e.preview
      ? h("img.upload-thumb", { src: e.preview, alt: "" })
      : h("span.upload-thumb.upload-icon", {}, icon("file")),
    h("div.upload-meta", {},
      h("span.upload-name", { title: name }, name),
      h("span.upload-size", {}, formatSize(e.file.size)),
      e.description ? h("span.upload-alt", { title: e.description }, `Alt: ${e.description}`) : null),
    h("div.upload-actions", {},
      h("button.small.upload-alt-button", { type: "button", "aria-label": `Alt text for ${name}`, onclick: () => editAlt(channelId, e.key) }, "Alt text"),
      h("button.small", { type: "button", "aria-label": `Remove ${name}`, onclick: () => removeFile(channelId, e.key) }, "✕")));
}

function renderTray() {
  const tray = $("upload-tray");
  const list = draftOf(state.channelId);
  fill(tray, list.map((e) => chip(state.channelId, e)));
  tray.hidden = !list.length;
}

/** The open channel changed: show its files. */
export function uploadsChannelChanged() {
  renderTray();
}

/** Takes the channel's files for a message being sent (the tray empties). */
export function takeFiles(channelId) {
  const list = draftOf(channelId);
  drafts.delete(channelId);
  if (channelId === state.channelId) renderTray();
  return list;
}

/** A send failed: its files go back, ahead of any added meanwhile. */
export function giveBack(channelId, entries) {
  const list = [...entries, ...draftOf(channelId)];
  if (list.length > MAX_FILES) {
    notify(`You can attach up to ${MAX_FILES} files to a message: the last ${list.length - MAX_FILES} added were let go.`);
    release(list.slice(MAX_FILES));
  }
  setDraft(channelId, list.slice(0, MAX_FILES));
}

/** Signing out: whoever signs in next in this tab must not find them. */
export function forgetFiles() {
  for (const list of drafts.values()) release(list);
  drafts.clear();
  renderTray();
}

/** A send succeeded: its files are let go. */
export const sent = (entries) => release(entries);

/**
 * POSTs a message with files, showing its progress above the composer
 * (with Cancel). Resolves to the message; rejects with an ApiError.
 */
export async function sendWithFiles(channelId, body, entries) {
  const form = new FormData();
  // attachments[i] describes the part files[i]: its alt text, its name.
  const attachments = entries.map((e, i) => ({ id: i, filename: e.file.name, ...(e.description ? { description: e.description } : {}) }));
  form.append("payload_json", JSON.stringify({ ...body, attachments }));
  entries.forEach((e, i) => form.append(`files[${i}]`, e.file, e.file.name));

  const what = entries.length === 1 ? entries[0].file.name : `${entries.length} files`;
  const c = channel(channelId);
  const where = c ? ` to ${channelLabel(c)}` : "";
  const controller = new AbortController();
  const fillBar = h("div.progress-fill");
  const percent = h("span.progress-percent", { "aria-hidden": "true" }, "0%");
  const meter = h("div.progress", {
    role: "progressbar", "aria-label": `Uploading ${what}`, "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": 0,
  }, fillBar);
  const row = h("li.upload-row", { dataset: { channel: channelId } },
    h("span.upload-row-name", {}, `Uploading ${what}${where}`),
    meter, percent,
    h("button.small", { type: "button", "aria-label": `Cancel uploading ${what}`, onclick: () => controller.abort() }, "Cancel"));
  const rows = $("upload-list");
  rows.append(row);
  rows.hidden = false;
  const progress = (fraction) => {
    const n = Math.max(0, Math.min(100, Math.floor(fraction * 100)));
    meter.setAttribute("aria-valuenow", String(n));
    fillBar.style.width = `${n}%`;
    percent.textContent = `${n}%`;
  };
  try {
    return await upload("POST", `/channels/${channelId}/messages`, form, { onProgress: progress, signal: controller.signal });
  } finally {
    row.remove();
    rows.hidden = !rows.children.length;
  }
}

/** Whether a drag carries files (not text or a link from the page). */
const carriesFiles = (e) => !!e.dataTransfer && [...e.dataTransfer.types].includes("Files");

export function initUploads() {
  const input = $("file-input");
  $("attach-button").append(icon("paperclip"));
  $("attach-button").addEventListener("click", () => input.click());
  input.addEventListener("change", () => {
    addFiles([...input.files]);
    // So that picking the same file again still counts as a change.
    input.value = "";
    $("composer-input").focus();
  });

  // A pasted file or screenshot is attached; pasted text stays text.
  $("composer-input").addEventListener("paste", (e) => {
    const files = [...((e.clipboardData && e.clipboardData.files) || [])];
    if (!files.length) return;
    e.preventDefault();
    addFiles(files);
  });

  // Dropping files anywhere on the chat attaches them. dragenter and
  // dragleave come for every child crossed: count them.
  const view = $("chat-view");
  const hint = $("drop-hint");
  let depth = 0;
  const showHint = (show) => {
    if (show) $("drop-hint-text").textContent = `Drop files to send them to ${channelLabel(channel()) || "this channel"}`;
    hint.hidden = !show;
  };
  // Nothing to attach to while the composer is away (a DM with someone blocked).
  const takes = (e) => carriesFiles(e) && !$("composer").hidden;
  view.addEventListener("dragenter", (e) => {
    if (!takes(e)) return;
    e.preventDefault();
    depth += 1;
    showHint(true);
  });
  view.addEventListener("dragover", (e) => {
    if (!takes(e)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = "copy";
  });
  view.addEventListener("dragleave", (e) => {
    if (!carriesFiles(e)) return;
    depth = Math.max(0, depth - 1);
    if (!depth) showHint(false);
  });
  view.addEventListener("drop", (e) => {
    if (!takes(e)) return;
    e.preventDefault();
    depth = 0;
    showHint(false);
    addFiles([...e.dataTransfer.files]);
    $("composer-input").focus();
  });
  // Anywhere else a dropped file would make the browser leave the app to
  // show it.
  window.addEventListener("dragover", (e) => {
    if (!carriesFiles(e) || view.contains(e.target)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = "none";
  });
  window.addEventListener("drop", (e) => { if (carriesFiles(e)) e.preventDefault(); });
  window.addEventListener("dragend", () => { depth = 0; showHint(false); });
}
