// The member list, grouped as Discord's is: each hoisted role a section
// (highest first) of its online members, then "Online", then "Offline";
// each with a presence dot, the name in the colour of their highest
// coloured role, a crown by the owner (a click opens the profile:
// profile.js); and the user's own status.

import { $, fill, h, userAvatar } from "./dom.js";
import { colourRole, hex, tint } from "./permissions.js";
import { openProfile } from "./profile.js";
import { timeoutMark } from "./moderation.js";
import { displayName, emit, guild, presenceOf, sortRoles, state } from "./state.js";

const LABEL = { online: "Online", idle: "Idle", dnd: "Do not disturb", offline: "Offline" };

function memberItem(g, m) {
  const status = presenceOf(g.id, m.user.id);
  const name = displayName(g.id, m.user.id);
  const colour = colourRole(g, m.user.id);
  const statusText = status === "offline" ? "" : state.statusText.get(m.user.id) || "";
  return h(`li.member.${status === "offline" ? "offline" : "present"}`, { dataset: { user: m.user.id, status } },
    h("button.member-open", { type: "button", "aria-haspopup": "dialog", onclick: (e) => openProfile(m.user, g.id, e.currentTarget) },
      h("span.avatar-wrap", {}, userAvatar(m.user, name), h(`span.dot.${status}`, { "aria-hidden": "true" })),
      // The name, and their custom status under it (read with the name).
      h("span.member-text", {},
        tint(h("span.member-name", { dataset: colour ? { color: hex(colour.color) } : undefined }, name, m.user.bot ? " (bot)" : ""), "color", colour && colour.color),
        statusText ? h("span.member-status", {}, h("span.visually-hidden", {}, ", "), statusText) : null),
      g.owner_id === m.user.id ? h("span.crown", { role: "img", "aria-label": "Server owner", title: "Server owner" }, "👑") : null,
      timeoutMark(m),
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
  // An online member goes under their highest hoisted role, if any.
  const hoisted = sortRoles(g.roles.filter((r) => r.hoist && r.id !== g.id)).reverse();
  const groups = hoisted.map((r) => ({ role: r, members: [] }));
  const rest = [];
  for (const m of online) {
    const mine = new Set(m.roles || []);
    const group = groups.find((x) => mine.has(x.role.id));
    (group ? group.members : rest).push(m);
  }
  const section = (id, title, members, role) => h("section", { "aria-labelledby": id, dataset: role ? { role: role.id } : undefined },
    h("h3", { id }, title),
    h("ul", {}, members.map((m) => memberItem(g, m))));
  fill(box,
    groups.filter((x) => x.members.length).map((x) => section(`members-role-${x.role.id}`, `${x.role.name} — ${x.members.length}`, x.members, x.role)),
    section("members-online", `Online — ${rest.length}`, rest),
    section("members-offline", `Offline — ${offline.length}`, offline));
}

/** The user panel: name, own status dot and the status picker. */
export function renderMe(status) {
  if (!state.me) return;
  $("me-name").textContent = state.me.global_name || state.me.username;
  const shown = status === "invisible" ? "offline" : status;
  $("me-dot").className = `dot ${shown}`;
  $("status-select").value = status;
}
