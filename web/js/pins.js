// Pinned messages: pin and unpin from a message's actions, the pins panel
// of the open channel, and the "pinned a message" notices in history.

import { api } from "./api.js";
import { $, fill, h, notify } from "./dom.js";
import { revealMessage } from "./chat.js";
import { formatTime, timeTitle, plainContent } from "./markup.js";
import { PERM, apply, can, channel, displayName, isPrivate, on, state } from "./state.js";
import { closeThreadPanels } from "./threads.js";

const panel = () => $("pins-panel");

/** Whether the user may pin here: anyone in a DM, MANAGE_MESSAGES in a server (the server has the last word). */
export const mayPin = () => isPrivate(channel()) || can(PERM.MANAGE_MESSAGES);

export async function setPinned(m, pinned) {
  try {
    await api(pinned ? "PUT" : "DELETE", `/channels/${m.channel_id}/pins/${m.id}`);
    // The gateway's MESSAGE_UPDATE follows; apply it now for this tab.
    apply("MESSAGE_UPDATE", { ...m, pinned });
  } catch (err) {
    notify(`Couldn't ${pinned ? "pin" : "unpin"} the message: ${err.message}`);
  }
}

/** A type 6 message: "X pinned a message to this channel." */
export function pinNotice(m) {
  const who = displayName(m.guild_id, m.author.id);
  return h("li.message.system-message", { id: `msg-${m.id}`, dataset: { id: m.id, author: m.author.id } },
    h("span.system-icon", { "aria-hidden": "true" }, "📌"),
    h("span", {}, `${who} pinned a message to this channel. `),
    h("button.link-button", { type: "button", onclick: () => openPins() }, "See all pinned messages"),
    h("time.time", { datetime: m.timestamp, title: timeTitle(m.timestamp) }, formatTime(m.timestamp)));
}

async function jumpTo(m) {
  if (!(await revealMessage(m.channel_id, m.id))) notify("Couldn't find that message in the channel's history.", "info");
}

async function renderPins() {
  const c = channel();
  if (!c || panel().hidden) return;
  const listEl = $("pins-list");
  let pins;
  try {
    pins = await api("GET", `/channels/${c.id}/pins`);
  } catch (err) {
    fill(listEl, h("li.pins-empty", {}, `Couldn't load pins: ${err.message}`));
    return;
  }
  if (state.channelId !== c.id) return;
  if (!pins.length) {
    fill(listEl, h("li.pins-empty", {}, "This channel doesn't have any pinned messages yet."));
    return;
  }
  fill(listEl, pins.map((m) => h("li.pin", { dataset: { id: m.id } },
    h("div.message-head", {},
      h("span.author", {}, displayName(m.guild_id, m.author.id)),
      h("time.time", { datetime: m.timestamp, title: timeTitle(m.timestamp) }, formatTime(m.timestamp))),
    h("div.content", {}, plainContent(m)),
    h("div.pin-actions", {},
      h("button.small", { type: "button", onclick: () => jumpTo(m) }, "Jump"),
      mayPin() ? h("button.small", { type: "button", "aria-label": "Unpin message", onclick: () => setPinned(m, false) }, "Unpin") : null))));
}

export function openPins() {
  // One panel at a time over the chat: search results and threads make way.
  $("search-panel").hidden = true;
  closeThreadPanels();
  panel().hidden = false;
  $("toggle-pins").setAttribute("aria-expanded", "true");
  renderPins();
  $("pins-close").focus();
}

export function closePins() {
  panel().hidden = true;
  $("toggle-pins").setAttribute("aria-expanded", "false");
}

export function initPins() {
  $("toggle-pins").addEventListener("click", () => (panel().hidden ? openPins() : closePins()));
  $("pins-close").addEventListener("click", () => { closePins(); $("toggle-pins").focus(); });
  panel().addEventListener("keydown", (e) => { if (e.key === "Escape") { closePins(); $("toggle-pins").focus(); } });
  on("pins", (channelId) => { if (channelId === state.channelId) renderPins(); });
}

/** The open channel changed: the panel follows it. */
export function pinsChannelChanged() {
  renderPins();
}
