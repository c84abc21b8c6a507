// Deleting many messages at once (docs/protocol.md §4.8, bulk delete), for
// those with MANAGE_MESSAGES in the channel: "Select" among a message's
// actions starts a selection there (a checkbox on every message of the
// channel), a bar above the composer says "N selected" with Delete and
// Cancel, and Delete sends `POST /channels/{id}/messages/bulk-delete`.
// The server takes 2–100 messages, none older than 14 days: the bar says
// so before asking, and says the server's refusal if it comes anyway.
// Others see them go live (MESSAGE_DELETE_BULK, state.js).

import { api } from "./api.js";
import { $, dialog, h, notify } from "./dom.js";
import { channelPermissions, disabledWith } from "./permissions.js";
import { apply, channel, displayName, on, state } from "./state.js";
import { BULK_DELETE, EPOCH_MS, PERM } from "./wire.js";

/** The selection under way: `{channelId, ids: Set}`, or null. */
let selection = null;

/** When a message was made (ms since the epoch), from its id. */
const madeAt = (id) => Number(BigInt(id) >> 22n) + EPOCH_MS;

/** Whether the user may delete others' messages in a server's channel (or thread). */
export function mayManageMessages(channelId) {
  const c = channel(channelId) || threadOf(channelId);
  const g = c && c.guild_id && state.guilds.get(c.guild_id);
  if (!g || !state.me) return false;
  // A thread's permissions are its parent channel's.
  const place = c.parent_id && (c.type === 11 || c.type === 12) ? g.channels.get(c.parent_id) || c : c;
  return !!(channelPermissions(g, place, state.me.id) & PERM.MANAGE_MESSAGES);
}

function threadOf(id) {
  for (const g of state.guilds.values()) if (g.threads.has(id)) return { ...g.threads.get(id), guild_id: g.id };
  return null;
}

/** A message that can be part of a bulk delete: sent (not ephemeral). */
const selectable = (m) => !!m.id && !(m.flags & 64);

/** Whether "Select" belongs among a message's actions. */
export const maySelect = (m) => selectable(m) && m.channel_id === state.channelId && mayManageMessages(m.channel_id);

/** The checkbox on a message while its channel's messages are being selected (null otherwise). */
export function selectBox(m) {
  if (!selection || selection.channelId !== m.channel_id || !selectable(m)) return null;
  const name = m.webhook_id && !m.application_id ? m.author.username : displayName(m.guild_id, m.author.id);
  const time = new Date(m.timestamp).toLocaleTimeString(undefined, { hour: "numeric", minute: "2-digit" });
  const box = h("input.select-message", {
    type: "checkbox", checked: selection.ids.has(m.id),
    "aria-label": `Select message from ${name} at ${time}`,
    dataset: { id: m.id },
  });
  box.addEventListener("change", () => {
    if (!selection) return;
    if (box.checked) selection.ids.add(m.id);
    else selection.ids.delete(m.id);
    renderBar();
  });
  return h("label.select-wrap", {}, box);
}

/** Puts the checkboxes on (or takes them off) the messages already shown. */
function markMessages() {
  for (const node of document.querySelectorAll("#message-list li.message[data-id]")) {
    const old = node.querySelector(":scope > .select-wrap");
    if (old) old.remove();
    if (!selection) continue;
    const entry = state.messages.get(selection.channelId);
    const m = entry && entry.list.find((x) => x.id === node.dataset.id);
    const box = m && selectBox(m);
    if (box) node.prepend(box);
  }
  $("message-list").classList.toggle("selecting", !!selection);
}

/** Starts selecting in a message's channel, with that message ticked. */
export function startSelecting(m) {
  selection = { channelId: m.channel_id, ids: new Set([m.id]) };
  markMessages();
  renderBar();
  const box = document.querySelector(`#msg-${m.id} .select-message`);
  if (box) box.focus();
}

export function stopSelecting({ refocus = false } = {}) {
  if (!selection) return;
  selection = null;
  markMessages();
  renderBar();
  if (refocus) $("composer-input").focus();
}

/** Why the selection cannot go to the server as it is (null: it can). */
function refusal(ids) {
  if (ids.length < BULK_DELETE.MIN) return `Select at least ${BULK_DELETE.MIN} messages: one alone is deleted with its own Delete.`;
  if (ids.length > BULK_DELETE.MAX) return `At most ${BULK_DELETE.MAX} messages can be deleted at once: ${ids.length - BULK_DELETE.MAX} too many are selected.`;
  const old = ids.filter((id) => madeAt(id) < Date.now() - BULK_DELETE.MAX_AGE_MS).length;
  if (old) return `${old === 1 ? "One selected message is" : `${old} selected messages are`} older than 14 days: the server deletes those only one at a time.`;
  return null;
}

function renderBar() {
  let bar = $("bulk-bar");
  if (!selection) { if (bar) bar.remove(); return; }
  const ids = [...selection.ids];
  const count = h("span.bulk-count", { role: "status" }, `${ids.length} selected`);
  const del = h("button.small.danger", { type: "button", onclick: () => bulkDelete() }, "Delete");
  const cancel = h("button.small", { type: "button", onclick: () => stopSelecting({ refocus: true }) }, "Cancel");
  // A re-render keeps the focus on the same button.
  const had = bar && bar.contains(document.activeElement) ? document.activeElement.textContent : null;
  const fresh = h("div.bulk-bar", { id: "bulk-bar", role: "group", "aria-label": "Selected messages" },
    count, disabledWith(del, refusal(ids)), cancel);
  if (bar) bar.replaceWith(fresh);
  else $("composer").before(fresh);
  bar = fresh;
  if (had) {
    const again = [...bar.querySelectorAll("button")].find((b) => b.textContent === had);
    if (again) again.focus();
  }
}

async function bulkDelete() {
  if (!selection) return;
  const { channelId } = selection;
  const ids = [...selection.ids];
  const c = channel(channelId);
  const done = await dialog({
    title: `Delete ${ids.length} messages?`,
    ok: "Delete",
    body: [h("p", {}, `They are deleted for everyone in ${c ? `#${c.name}` : "the channel"}. This cannot be undone.`)],
    submit: () => api("POST", `/channels/${channelId}/messages/bulk-delete`, { messages: ids }).then(() => true),
  });
  if (!done) return;
  apply("MESSAGE_DELETE_BULK", { ids, channel_id: channelId, guild_id: c && c.guild_id });
  stopSelecting({ refocus: true });
  notify(`${ids.length} messages deleted.`, "info");
}

/** The open channel changed: a selection belongs to its channel. */
export function bulkChannelChanged() {
  if (selection && selection.channelId !== state.channelId) stopSelecting();
}

export function initBulkDelete() {
  on("messages", (evt) => {
    if (!selection || evt.channelId !== selection.channelId) return;
    // Deleted meanwhile (here or elsewhere): no longer selected.
    if (evt.deleted) for (const id of evt.deleted) selection.ids.delete(id);
    renderBar();
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && selection && $("bulk-bar") && ($("bulk-bar").contains(document.activeElement) || $("message-list").contains(document.activeElement))) {
      stopSelecting({ refocus: true });
    }
  });
}
