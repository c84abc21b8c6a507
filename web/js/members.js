// The member list: online first, then offline, each with a presence dot
// (a click opens the profile: profile.js); and the user's own status.

import { $, avatar, fill, h } from "./dom.js";
import { openProfile } from "./profile.js";
import { displayName, emit, guild, presenceOf, state } from "./state.js";

const LABEL = { online: "Online", idle: "Idle", dnd: "Do not disturb", offline: "Offline" };

function memberItem(g, m) {
  const status = presenceOf(g.id, m.user.id);
  const name = displayName(g.id, m.user.id);
  return h(`li.member.${status === "offline" ? "offline" : "present"}`, { dataset: { user: m.user.id, status } },
    h("button.member-open", { type: "button", "aria-haspopup": "dialog", onclick: (e) => openProfile(m.user, g.id, e.currentTarget) },
      h("span.avatar-wrap", {}, avatar(name), h(`span.dot.${status}`, { "aria-hidden": "true" })),
      h("span.member-name", {}, name, m.user.bot ? " (bot)" : ""),
      h("span.visually-hidden", {}, `, ${LABEL[status] || status}`)),
    state.me && m.user.id !== state.me.id
      ? h("button.small.member-message", { type: "button", "aria-label": `Message ${name}`, title: `Message ${name}`, onclick: () => emit("open-dm", m.user.id) }, "✉")
      : null);
}

export function renderMembers() {
  const g = guild();
  const box = $("member-list");
  if (!g) { fill(box); return; }
  const byName = (a, b) => displayName(g.id, a.user.id).localeCompare(displayName(g.id, b.user.id));
  const all = [...g.members.values()].sort(byName);
  const online = all.filter((m) => presenceOf(g.id, m.user.id) !== "offline");
  const offline = all.filter((m) => presenceOf(g.id, m.user.id) === "offline");
  fill(box,
    h("section", { "aria-labelledby": "members-online" },
      h("h3", { id: "members-online" }, `Online — ${online.length}`),
      h("ul", {}, online.map((m) => memberItem(g, m)))),
    h("section", { "aria-labelledby": "members-offline" },
      h("h3", { id: "members-offline" }, `Offline — ${offline.length}`),
      h("ul", {}, offline.map((m) => memberItem(g, m)))));
}

/** The user panel: name, own status dot and the status picker. */
export function renderMe(status) {
  if (!state.me) return;
  $("me-name").textContent = state.me.global_name || state.me.username;
  const shown = status === "invisible" ? "offline" : status;
  $("me-dot").className = `dot ${shown}`;
  $("status-select").value = status;
}
