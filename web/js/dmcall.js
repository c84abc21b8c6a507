// Calls in DMs and group DMs, around the call itself (voice.js, call.js):
// the header's "Start call" / "Join call", and the notice of an incoming
// call, with Accept (join it) and Decline (stop it ringing for the user).

import { api } from "./api.js";
import { names } from "./call.js";
import { $, fill, h, icon, notify } from "./dom.js";
import { callMembers, callsRingingMe, channel, channelLabel, dmRecipient, isBlocked, isPrivate, state } from "./state.js";

let actions = {};
/** The user's call, as last rendered (for re-renders of our own). */
let current = null;

/** Calls whose Decline is on its way: their notice waits for CALL_UPDATE without its buttons. */
const declining = new Set();

/** `acts`: {joinCall(channelId)}: opens the conversation and joins its call. */
export function initDmCalls(acts) {
  actions = acts;
  $("dm-call").addEventListener("click", () => {
    const c = channel();
    if (isPrivate(c)) actions.joinCall(c.id);
  });
}

/** The header's button in a DM: start a call, or join the one in progress; none while in it. */
export function renderCallButton(call) {
  const button = $("dm-call");
  const c = channel();
  // None in a DM with someone the user blocks: the server refuses the call.
  const other = dmRecipient(c);
  const show = !$("chat-view").hidden && isPrivate(c) && !(call && call.channelId === c.id) && !(other && isBlocked(other.id));
  button.hidden = !show;
  if (!show) return;
  const inProgress = state.calls.has(c.id);
  fill(button, icon("phone"), inProgress ? "Join call" : "Start call");
  button.classList.toggle("primary", inProgress);
}

/** Who calls: those in the call other than the user, or the conversation's name. */
function callerOf(c, call) {
  const others = callMembers(call.channel_id).map((v) => v.user_id).filter((id) => id !== state.me.id);
  if (others.length) return names(others);
  return c ? channelLabel(c).replace(/^@/, "") : "Someone";
}

async function decline(channelId) {
  declining.add(channelId);
  renderRinging(current);
  try {
    // Without recipients: stops ringing the user (CALL_UPDATE follows).
    await api("POST", `/channels/${channelId}/call/stop-ringing`, {});
  } catch (err) {
    notify(`Couldn't decline the call: ${err.message}`);
  } finally {
    declining.delete(channelId);
    renderRinging(current);
  }
}

/**
 * One notice per call ringing the user; none once it stops (joined,
 * declined, timed out, ended), nor for the call being joined (`joined`,
 * the user's call) while the server has not said so yet.
 */
export function renderRinging(joined) {
  const box = $("incoming-calls");
  current = joined;
  const ringing = callsRingingMe().filter((call) => !(joined && joined.channelId === call.channel_id));
  const shown = new Map([...box.children].map((n) => [n.dataset.channel, n]));
  for (const [id, node] of shown) if (!ringing.some((call) => call.channel_id === id)) node.remove();
  for (const call of ringing) {
    const c = state.dms.get(call.channel_id);
    const caller = callerOf(c, call);
    const where = c && c.type === 3 ? ` in ${channelLabel(c)}` : "";
    const text = `${caller} ${caller.includes(" and ") ? "are" : "is"} calling you${where}.`;
    const busy = declining.has(call.channel_id);
    const id = `ring-${call.channel_id}`;
    let node = shown.get(call.channel_id);
    if (!node) {
      node = h("section.ring-notice", {
        role: "alertdialog", "aria-labelledby": `${id}-title`, "aria-describedby": `${id}-text`,
        dataset: { channel: call.channel_id },
      });
      box.append(node);
    }
    // Rebuilt only when it says something new, so a button being pressed stays.
    const key = `${text}|${busy}`;
    if (node.dataset.key === key) continue;
    node.dataset.key = key;
    fill(node,
      h("h2.ring-title", { id: `${id}-title` }, icon("phone"), "Incoming call"),
      h("p.ring-text", { id: `${id}-text` }, text),
      h("div.ring-actions", {},
        h("button.accept", {
          type: "button", disabled: busy, "aria-label": `Accept the call from ${caller}`,
          onclick: () => actions.joinCall(call.channel_id),
        }, "Accept"),
        h("button.danger", {
          type: "button", disabled: busy, "aria-label": `Decline the call from ${caller}`,
          onclick: () => decline(call.channel_id),
        }, "Decline")));
  }
}
