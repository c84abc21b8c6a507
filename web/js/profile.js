// A person's profile popout, opened from the member list or a message's
// author: their name, status, and what the user can do with them —
// Message, and Block (with a confirmation) or Unblock.

import { api } from "./api.js";
import { blockUser, unblockUser } from "./blocks.js";
import { $, dialog, fill, h, notify, userAvatar } from "./dom.js";
import { disabledWith } from "./permissions.js";
import { memberRoles } from "./roles.js";
import { moderationActions } from "./moderation.js";
import { PERM, apply, can, displayName, emit, isBlocked, on, presenceOf, state } from "./state.js";

const LABEL = { online: "Online", idle: "Idle", dnd: "Do not disturb", offline: "Offline" };

/** The popout open now: `{user, guildId, opener}`, or null. */
let open = null;

const popout = () => $("profile");

/** Where the focus goes back to: the opener, or (re-rendered since) its like in the member list. */
function backTo(from, userId) {
  if (from && from.isConnected) return from;
  return document.querySelector(`#member-list .member[data-user="${userId}"] .member-open`);
}

const opener = () => (open ? backTo(open.opener, open.user.id) : null);

export function closeProfile({ refocus = true } = {}) {
  if (!open) return;
  const back = opener();
  open = null;
  popout().hidden = true;
  fill(popout());
  if (refocus && back) back.focus();
}

function render() {
  const { user, guildId } = open;
  const name = guildId ? displayName(guildId, user.id) : user.global_name || user.username;
  const me = state.me && user.id === state.me.id;
  const blocked = isBlocked(user.id);
  const status = guildId ? presenceOf(guildId, user.id) : null;
  const act = (fn) => () => fn(user, name);
  // A re-render (a presence, a block) keeps the focus where it was.
  const had = [...popout().querySelectorAll("button, select")].indexOf(document.activeElement);
  fill(popout(),
    h("div.profile-head", {},
      userAvatar(user, name),
      h("div.profile-names", {},
        h("h3", { id: "profile-name" }, name),
        h("p.hint", {}, `@${user.username}${user.bot ? " · bot" : ""}`)),
      h("button.small.profile-close", { type: "button", "aria-label": "Close profile", onclick: () => closeProfile() }, "✕")),
    status ? h("p.profile-status", {}, h(`span.dot.${status}`, { "aria-hidden": "true" }), LABEL[status] || status) : null,
    status !== "offline" && state.statusText.get(user.id) ? h("p.profile-custom-status", {}, state.statusText.get(user.id)) : null,
    blocked ? h("p.profile-blocked", {}, `You blocked ${name}.`) : null,
    guildId && state.guilds.get(guildId) ? memberRoles(state.guilds.get(guildId), user.id) : null,
    me && guildId && state.guilds.get(guildId) ? h("div.profile-actions", { role: "group", "aria-label": "Profile actions" },
      disabledWith(h("button.small", { type: "button", onclick: () => changeNick(guildId) }, "Change nickname"),
        can(PERM.CHANGE_NICKNAME, state.guilds.get(guildId)) ? null : "You need the Change Nickname permission on this server.")) : null,
    me ? null : h("div.profile-actions", { role: "group", "aria-label": "Profile actions" },
      h("button.small.primary", { type: "button", onclick: act(message) }, "Message"),
      blocked
        ? h("button.small", { type: "button", onclick: act(unblock) }, "Unblock")
        : h("button.small.danger", { type: "button", onclick: act(block) }, "Block")),
    // A moderator's Kick, Ban, Time out and voice actions (moderation.js).
    !me && guildId && state.guilds.get(guildId) ? moderationActions(state.guilds.get(guildId), user, () => closeProfile({ refocus: false })) : null);
  if (had >= 0) {
    const buttons = popout().querySelectorAll("button, select");
    (buttons[had] || buttons[0]).focus();
  }
}

/** The user's own nickname on a server (empty: none, their name shows). */
async function changeNick(guildId) {
  const g = state.guilds.get(guildId);
  const m = g && g.members.get(state.me.id);
  closeProfile({ refocus: false });
  const saved = await dialog({
    title: `Your nickname on ${g.name}`,
    ok: "Save",
    body: [h("p.hint", {}, "Only on this server. Leave it empty to go by your name.")],
    fields: [{ name: "nick", label: "Nickname", value: (m && m.nick) || "", maxlength: 32 }],
    submit: ({ nick }) => api("PATCH", `/guilds/${guildId}/members/@me`, { nick: nick.trim() || null }),
  });
  if (saved) {
    apply("GUILD_MEMBER_UPDATE", { ...saved, guild_id: guildId });
    notify(saved.nick ? `You are ${saved.nick} on ${g.name} now.` : `Your nickname on ${g.name} is cleared.`, "info");
  }
}

function message(user) {
  closeProfile({ refocus: false });
  emit("open-dm", user.id);
}

async function block(user, name) {
  const from = open && open.opener;
  closeProfile({ refocus: false });
  await blockUser(user, name);
  const back = backTo(from, user.id);
  if (back) back.focus();
}

async function unblock(user) {
  await unblockUser(user.id);
  // The popout shows Block now: the focus goes to it.
  if (open && open.user.id === user.id) {
    const button = popout().querySelector(".profile-actions .danger");
    if (button) button.focus();
  }
}

/** Beside the element it was opened from, inside the window. */
function place(from) {
  const box = popout();
  const r = from.getBoundingClientRect();
  const w = box.offsetWidth;
  const hgt = box.offsetHeight;
  // Left of an opener on the right half (the member list), else below it.
  let left = r.left > window.innerWidth / 2 ? r.left - w - 8 : r.left;
  let top = r.left > window.innerWidth / 2 ? r.top : r.bottom + 4;
  left = Math.max(8, Math.min(left, window.innerWidth - w - 8));
  top = Math.max(8, Math.min(top, window.innerHeight - hgt - 8));
  box.style.left = `${left}px`;
  box.style.top = `${top}px`;
}

/** Opens a person's profile (a User; `guildId` for their status and server name). */
export function openProfile(user, guildId, from) {
  if (open && open.user.id === user.id && open.opener === from) { closeProfile(); return; }
  open = { user, guildId: guildId || null, opener: from };
  render();
  popout().hidden = false;
  if (from) place(from);
  const first = popout().querySelector(".profile-actions button") || popout().querySelector("button");
  if (first) first.focus();
}

export function initProfile() {
  const box = popout();
  box.addEventListener("keydown", (e) => {
    if (e.key === "Escape") { e.preventDefault(); e.stopPropagation(); closeProfile(); }
  });
  // A click elsewhere, or the focus leaving it, closes it.
  document.addEventListener("mousedown", (e) => {
    if (open && !box.contains(e.target) && !(open.opener && open.opener.contains(e.target))) closeProfile({ refocus: false });
  });
  box.addEventListener("focusout", (e) => {
    const to = e.relatedTarget;
    // (To its opener: the click that follows closes it.)
    if (open && to && !box.contains(to) && !(open.opener && open.opener.contains(to))) closeProfile({ refocus: false });
  });
  on("relationships", () => { if (open) render(); });
  on("members", () => { if (open && open.guildId) render(); });
  on("roles", () => { if (open && open.guildId) render(); });
  // Server mute, deafen, a move: the moderation actions follow.
  on("voice", () => { if (open && open.guildId) render(); });
}

/** A message's author, as a button opening their profile (a webhook's name stays text). */
export function authorName(m, name) {
  if (m.webhook_id && !m.application_id) return h("span.author", {}, name);
  return h("button.author", {
    type: "button", "aria-haspopup": "dialog",
    onclick: (e) => openProfile(m.author, m.guild_id, e.currentTarget),
  }, name);
}
