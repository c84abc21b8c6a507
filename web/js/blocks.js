// Blocking (Discord's relationships of type 2): Block, with a
// confirmation, and Unblock; the line that stands for a run of messages
// from someone the user blocks ("2 blocked messages — Show"); the user
// settings' list of blocked users. The server keeps a blocked pair out of
// each other's DMs and calls; hiding messages in servers is the client's.
// What the user blocks is state.blocked, kept by READY and RELATIONSHIP_*.

import { api } from "./api.js";
import { $, avatar, dialog, fill, h, notify } from "./dom.js";
import { apply, fromBlocked, isBlocked, on, state } from "./state.js";

const nameOf = (u) => u.global_name || u.username;

/** Blocks a user, once they confirm. `user`: a User. Resolves to whether it was done. */
export async function blockUser(user, name = nameOf(user)) {
  if (isBlocked(user.id)) return true;
  const done = await dialog({
    title: `Block ${name}?`,
    ok: "Block",
    body: [
      h("p", {}, `${name} won't be able to message you directly or call you, and you won't be able to message them.`),
      h("p.hint", {}, "Their messages in servers will be collapsed behind a \u201cblocked message\u201d line. They won't be told."),
    ],
    submit: async () => {
      await api("PUT", `/users/@me/relationships/${user.id}`, { type: 2 });
      return true;
    },
  });
  if (!done) return false;
  // RELATIONSHIP_ADD follows on the gateway; this tab knows it now.
  apply("RELATIONSHIP_ADD", { id: user.id, type: 2, user, nickname: null, since: new Date().toISOString() });
  return true;
}

/** Unblocks a user: no confirmation, as on Discord. */
export async function unblockUser(userId) {
  if (!isBlocked(userId)) return true;
  try {
    await api("DELETE", `/users/@me/relationships/${userId}`);
  } catch (err) {
    notify(`Couldn't unblock: ${err.message}`);
    return false;
  }
  apply("RELATIONSHIP_REMOVE", { id: userId, type: 2, nickname: null });
  return true;
}

/**
 * A channel's messages in runs: `{message}` for each one shown as usual,
 * `{blocked: [messages]}` for each run of consecutive messages from people
 * the user blocks.
 */
export function blockedRuns(messages) {
  const out = [];
  for (const m of messages) {
    if (!fromBlocked(m)) out.push({ message: m });
    else if (out.length && out[out.length - 1].blocked) out[out.length - 1].blocked.push(m);
    else out.push({ blocked: [m] });
  }
  return out;
}

/**
 * The line in place of a run of blocked messages: a button that shows
 * them (or hides them again). `shown`: whether the run is shown now;
 * `toggle()` flips it. `nodeId(m)`: the element id of a message's node.
 */
export function blockedLine(run, shown, toggle, nodeId) {
  const n = run.length;
  const button = h("button.blocked-toggle", {
    type: "button",
    id: `blocked-${run[0].id}`,
    "aria-expanded": String(shown),
    "aria-controls": nodeId ? run.map(nodeId).join(" ") : undefined,
    onclick: toggle,
  }, `${n} blocked message${n === 1 ? "" : "s"} — ${shown ? "Hide" : "Show"}`);
  return h("li.blocked-line", { dataset: { first: run[0].id } }, button);
}

// ---- user settings: blocked users ----

function blockedItems() {
  const people = [...state.blocked.values()].sort((a, b) => String(a.since || "").localeCompare(String(b.since || "")));
  if (!people.length) return h("li.pins-empty", {}, "You haven't blocked anyone.");
  return people.map((r) => {
    const u = r.user || { id: r.id, username: "unknown" };
    const name = nameOf(u);
    return h("li.blocked-user", { dataset: { user: r.id } },
      avatar(name),
      h("span.blocked-user-name", {}, name, u.username !== name ? h("span.hint", {}, ` @${u.username}`) : null),
      h("button.small", { type: "button", "aria-label": `Unblock ${name}`, onclick: () => unblockUser(r.id) }, "Unblock"));
  });
}

function renderBlockedList() {
  const list = $("blocked-list");
  if (!list || !list.isConnected) return;
  // An Unblock that had the focus goes with its row: the focus moves to
  // the next row's (or the last one's), or to Done.
  const rows = [...list.children];
  const at = rows.findIndex((li) => li.contains(document.activeElement));
  fill(list, blockedItems());
  if (at < 0) return;
  const buttons = list.querySelectorAll("button");
  (buttons[Math.min(at, buttons.length - 1)] || $("settings-close")).focus();
}

/** The user settings' "Blocked users" section (usersettings.js): each with Unblock. */
export function blockedSection() {
  return h("section.settings-section", { "aria-labelledby": "blocked-title" },
    h("h3", { id: "blocked-title" }, "Blocked users"),
    h("p.hint", {}, "They can't message or call you, and their messages in servers are collapsed until you show them."),
    h("ul.blocked-users", { id: "blocked-list", "aria-labelledby": "blocked-title" }, blockedItems()));
}

export function initBlocks() {
  on("relationships", renderBlockedList);
}
