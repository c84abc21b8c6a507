// Moderation (docs/protocol.md §4.6, §4.7): what a moderator may do to a
// member from their profile — Kick, Ban, Time out (and Remove time out);
// in voice, Server mute, Server deafen, Move and Disconnect — each checked
// as the server checks it (the permission, then the role hierarchy and the
// owner's rules), and offered disabled, with the reason, when the server
// would refuse. And what the member sees of it: the ⏱ in the member list,
// the time-out banner over a disabled composer (lifted live), "Server
// muted" in the voice panel, and the notice of being removed from a server.

import { api } from "./api.js";
import { $, dialog, h, notify } from "./dom.js";
import { channelPermissions, disabledWith, memberRank, permissionNames, rolesOf, topRole } from "./permissions.js";
import { apply, channel, displayName, emit, on, state, timedOutUntil } from "./state.js";
import { CHANNEL, MAX_TIMEOUT_MS, PERM } from "./wire.js";

/** The durations Discord offers for a time-out. */
export const TIMEOUTS = [
  [60, "60 seconds"], [300, "5 minutes"], [600, "10 minutes"],
  [3600, "1 hour"], [86400, "1 day"], [604800, "1 week"],
];

/** How much of a banned member's recent history goes with them, as Discord offers it (`delete_message_seconds`). */
export const BAN_DELETE = [
  [0, "Don't delete any"], [3600, "Previous hour"], [21600, "Previous 6 hours"],
  [43200, "Previous 12 hours"], [86400, "Previous 24 hours"], [259200, "Previous 3 days"],
  [604800, "Previous 7 days"],
];

/** Any of these makes the user a moderator: their profile popouts show the moderation actions. */
const MODERATION = PERM.KICK_MEMBERS | PERM.BAN_MEMBERS | PERM.MODERATE_MEMBERS | PERM.MUTE_MEMBERS | PERM.DEAFEN_MEMBERS | PERM.MOVE_MEMBERS;

const me = () => (state.me ? state.me.id : null);

/**
 * A member's server-wide permissions from their roles alone, before a
 * time-out narrows them: whether someone is a moderator (or an
 * Administrator) at all.
 */
function rolePermissions(g, userId) {
  if (g.owner_id === userId) return ~0n;
  const everyone = g.roles.find((r) => r.id === g.id);
  let perms = everyone ? BigInt(everyone.permissions || 0) : 0n;
  for (const r of rolesOf(g, userId)) perms |= BigInt(r.permissions || 0);
  return perms & PERM.ADMINISTRATOR ? ~0n : perms;
}

/** The user's permissions now, as the server computes them (a time-out leaves none of these). */
function myPermissions(g) {
  const raw = rolePermissions(g, me());
  if (raw === ~0n) return raw;
  return timedOutUntil(g.members.get(me())) ? 0n : raw;
}

/** When a time-out ends, in words: the time, and the date unless it is today. */
export function untilText(ms) {
  const d = new Date(ms);
  const time = d.toLocaleTimeString(undefined, { hour: "numeric", minute: "2-digit" });
  if (d.toDateString() === new Date().toDateString()) return time;
  return `${d.toLocaleDateString(undefined, { month: "long", day: "numeric" })}, ${time}`;
}

/**
 * Why the user may not do something to a member (null: they may), in the
 * server's order: the permission (server-wide), then, for `outrank`
 * actions, the owner's rule and the role hierarchy.
 */
function refusal(g, userId, perm, { outrank = false, verb = "do that to" } = {}) {
  const name = displayName(g.id, userId);
  if (!(myPermissions(g) & perm)) {
    if (rolePermissions(g, me()) & perm) return "You are timed out: you cannot moderate anyone until your time-out ends.";
    return `You need the ${permissionNames(perm)[0]} permission on this server.`;
  }
  if (!outrank) return null;
  if (g.owner_id === userId) return `${name} owns the server: nobody can ${verb} the owner.`;
  if (g.owner_id === me()) return null;
  if (memberRank(g, me()) <= memberRank(g, userId)) {
    const theirs = topRole(g, userId);
    const mine = topRole(g, me());
    return `${name}'s highest role${theirs ? ` (${theirs.name})` : ""} is not below yours${mine ? ` (${mine.name})` : " (you have none)"}, so you cannot ${verb} them.`;
  }
  return null;
}

/** A reason, if given, goes as Discord takes it: `X-Audit-Log-Reason`, URL-encoded. */
const reasonHeaders = (reason) => (reason && reason.trim() ? { "X-Audit-Log-Reason": encodeURIComponent(reason.trim()) } : {});

const reasonField = { name: "reason", label: "Reason (optional)", type: "textarea", maxlength: 512 };

async function kick(g, user) {
  const name = displayName(g.id, user.id);
  const done = await dialog({
    title: `Kick ${name} from ${g.name}?`,
    ok: "Kick",
    body: [h("p", {}, `${name} will leave the server. They can join again with an invite.`)],
    fields: [reasonField],
    submit: ({ reason }) => api("DELETE", `/guilds/${g.id}/members/${user.id}`, undefined, { headers: reasonHeaders(reason) }).then(() => true),
  });
  if (!done) return;
  apply("GUILD_MEMBER_REMOVE", { guild_id: g.id, user });
  notify(`${name} was kicked from ${g.name}.`, "info");
}

async function ban(g, user) {
  const name = displayName(g.id, user.id);
  const done = await dialog({
    title: `Ban ${name} from ${g.name}?`,
    ok: "Ban",
    body: [h("p", {}, `${name} will leave the server, and its invites will not let them back in.`)],
    fields: [
      { name: "delete", label: "Delete message history", value: "0", options: BAN_DELETE.map(([s, label]) => [String(s), label]) },
      reasonField,
    ],
    submit: ({ delete: seconds, reason }) => {
      const body = { delete_message_seconds: Number(seconds) };
      if (reason && reason.trim()) body.reason = reason.trim();
      return api("PUT", `/guilds/${g.id}/bans/${user.id}`, body, { headers: reasonHeaders(reason) }).then(() => true);
    },
  });
  if (!done) return;
  apply("GUILD_MEMBER_REMOVE", { guild_id: g.id, user });
  notify(`${name} was banned from ${g.name}.`, "info");
}

/** A member's edit by a moderator, applied at once (the gateway's copy follows). */
async function patchMember(g, userId, body) {
  const saved = await api("PATCH", `/guilds/${g.id}/members/${userId}`, body);
  if (saved) apply("GUILD_MEMBER_UPDATE", { ...saved, guild_id: g.id });
  return saved;
}

async function timeOut(g, user) {
  const name = displayName(g.id, user.id);
  const done = await dialog({
    title: `Time out ${name}`,
    ok: "Time out",
    body: [h("p", {}, `While timed out, ${name} can read the server but not send messages, react, start threads or speak in voice.`)],
    fields: [
      { name: "duration", label: "Duration", value: "60", options: TIMEOUTS.map(([s, label]) => [String(s), label]) },
      reasonField,
    ],
    submit: async ({ duration, reason }) => {
      const ms = Math.min(Number(duration) * 1000, MAX_TIMEOUT_MS);
      const until = new Date(Date.now() + ms).toISOString();
      const res = await api("PATCH", `/guilds/${g.id}/members/${user.id}`, { communication_disabled_until: until }, { headers: reasonHeaders(reason) });
      return res || true;
    },
  });
  if (!done) return;
  if (done !== true) apply("GUILD_MEMBER_UPDATE", { ...done, guild_id: g.id });
  const until = timedOutUntil(g.members.get(user.id));
  notify(until ? `${name} is timed out until ${untilText(until)}.` : `${name} is timed out.`, "info");
}

async function act(what, fn) {
  try {
    await fn();
  } catch (err) {
    notify(`Couldn't ${what}: ${err.message}`);
  }
}

const button = (label, onclick, cls = "") => h(`button.small${cls}`, { type: "button", onclick }, label);

/** The voice part: the member's channel, and Server mute, Server deafen, Move, Disconnect. */
function voiceActions(g, user, close) {
  const v = g.voice.get(user.id);
  if (!v || !v.channel_id) return null;
  const name = displayName(g.id, user.id);
  const here = g.channels.get(v.channel_id);
  const muteWhy = refusal(g, user.id, PERM.MUTE_MEMBERS);
  const deafWhy = refusal(g, user.id, PERM.DEAFEN_MEMBERS);
  const moveWhy = refusal(g, user.id, PERM.MOVE_MEMBERS);
  // The server moves someone only where the moderator may connect.
  const targets = moveWhy ? [] : g.channelOrder.filter((c) => c.type === CHANNEL.VOICE && c.id !== v.channel_id
    && (channelPermissions(g, c, me()) & PERM.CONNECT));
  const select = h("select", { id: "moderation-move-to" },
    targets.length ? targets.map((c) => h("option", { value: c.id }, c.name)) : h("option", { value: "" }, "No other voice channel"));
  const moveReason = moveWhy || (targets.length ? null : "There is no other voice channel you may connect to.");
  const flags = [v.mute ? "server muted" : null, v.deaf ? "server deafened" : null].filter(Boolean);
  return h("div.moderation-voice", { role: "group", "aria-label": "Voice moderation" },
    h("p.hint", {}, `In voice: ${here ? here.name : "a voice channel"}${flags.length ? ` · ${flags.join(" · ")}` : ""}`),
    h("div.profile-actions", {},
      disabledWith(button(v.mute ? "Remove server mute" : "Server mute",
        () => act(v.mute ? `unmute ${name}` : `mute ${name}`, () => patchMember(g, user.id, { mute: !v.mute }))), muteWhy),
      disabledWith(button(v.deaf ? "Remove server deafen" : "Server deafen",
        () => act(v.deaf ? `undeafen ${name}` : `deafen ${name}`, () => patchMember(g, user.id, { deaf: !v.deaf }))), deafWhy),
      disabledWith(button("Disconnect", () => act(`disconnect ${name}`, async () => {
        await patchMember(g, user.id, { channel_id: null });
        notify(`${name} was disconnected from voice.`, "info");
      }), ".danger"), moveWhy)),
    h("div.moderation-move", {},
      h("label", { for: "moderation-move-to" }, "Move to"),
      disabledWith(select, moveReason),
      disabledWith(button("Move", () => {
        const to = select.value;
        const dest = g.channels.get(to);
        close();
        act(`move ${name}`, async () => {
          await patchMember(g, user.id, { channel_id: to });
          notify(`${name} was moved to ${dest ? dest.name : "another channel"}.`, "info");
        });
      }), moveReason)));
}

/**
 * The moderation part of someone's profile popout (not one's own), for a
 * moderator of the server: every action, those the server would refuse
 * disabled with the reason. `close` closes the popout before a dialog.
 */
export function moderationActions(g, user, close) {
  if (!state.me || user.id === me() || !g.members.has(user.id)) return null;
  if (!(rolePermissions(g, me()) & MODERATION)) return null;
  const name = displayName(g.id, user.id);
  const until = timedOutUntil(g.members.get(user.id));
  const timeoutWhy = refusal(g, user.id, PERM.MODERATE_MEMBERS, { outrank: true, verb: "time out" })
    // Setting one (not lifting it): the server refuses an Administrator.
    || (!until && rolePermissions(g, user.id) & PERM.ADMINISTRATOR ? `${name} is an Administrator: administrators cannot be timed out.` : null);
  // The popout closes for the dialog; the focus goes back to the member's
  // entry in the list (if they are still there) when it is done.
  const later = (fn) => async () => {
    close();
    await act("do that", fn);
    const back = document.querySelector(`#member-list .member[data-user="${user.id}"] .member-open`);
    if (back && !document.querySelector("dialog[open]")) back.focus();
  };
  return h("section.moderation", { "aria-labelledby": "moderation-title" },
    h("h4", { id: "moderation-title" }, "Moderation"),
    until ? h("p.timeout-note", {}, `⏱ Timed out until ${untilText(until)}`) : null,
    h("div.profile-actions", { role: "group", "aria-label": "Moderation actions" },
      until
        ? disabledWith(button("Remove time out", () => act(`remove ${name}'s time-out`, async () => {
          await patchMember(g, user.id, { communication_disabled_until: null });
          notify(`${name}'s time-out is removed.`, "info");
        })), timeoutWhy)
        : disabledWith(button("Time out", later(() => timeOut(g, user))), timeoutWhy),
      disabledWith(button("Kick", later(() => kick(g, user)), ".danger"), refusal(g, user.id, PERM.KICK_MEMBERS, { outrank: true, verb: "kick" })),
      disabledWith(button("Ban", later(() => ban(g, user)), ".danger"), refusal(g, user.id, PERM.BAN_MEMBERS, { outrank: true, verb: "ban" }))),
    voiceActions(g, user, close));
}

/** The ⏱ beside a timed-out member's name in the member list. */
export function timeoutMark(m) {
  const until = timedOutUntil(m);
  if (!until) return null;
  const label = `timed out until ${untilText(until)}`;
  return h("span.timeout-mark", { role: "img", "aria-label": label, title: label }, "⏱");
}

// ---- the user's own time-out ----

/** Why the user cannot act in a server now (their time-out), or null. */
export function timeoutReason(guildId) {
  const g = guildId && state.guilds.get(guildId);
  const until = g && state.me ? timedOutUntil(g.members.get(state.me.id)) : 0;
  return until ? `You are timed out until ${untilText(until)}.` : null;
}

/** Whether the user was timed out in the open server when last looked at. */
let wasTimedOut = false;

/**
 * Above the composer, while the user is timed out in the open server: a
 * banner saying until when, and the composer (and a thread's) disabled.
 */
export function renderTimeout() {
  const c = channel();
  const reason = c && c.guild_id ? timeoutReason(c.guild_id) : null;
  let banner = $("timeout-banner");
  if (reason && !banner) {
    banner = h("p.timeout-banner", { id: "timeout-banner", role: "status" });
    $("composer").before(banner);
  }
  if (banner) {
    banner.hidden = !reason;
    banner.textContent = reason ? `${reason} You can read, but not send messages, react or start threads.` : "";
  }
  for (const form of [$("composer"), $("thread-composer")]) {
    if (!form) continue;
    for (const el of form.elements) {
      // Only what was disabled here is enabled again: other modules disable fields of their own.
      if (reason && !el.disabled) { el.disabled = true; el.dataset.timedOut = "true"; }
      if (!reason && el.dataset.timedOut) { el.disabled = false; delete el.dataset.timedOut; }
    }
  }
  if (!!reason !== wasTimedOut) {
    wasTimedOut = !!reason;
    // The messages' React and Thread follow (chat.js).
    emit("timeout");
  }
}

let expiryTimer = null;

/** Wakes up when the next known time-out ends: the banner lifts, the ⏱ goes. */
function scheduleExpiry() {
  clearTimeout(expiryTimer);
  let next = 0;
  for (const g of state.guilds.values()) {
    for (const m of g.members.values()) {
      const until = timedOutUntil(m);
      if (until && (!next || until < next)) next = until;
    }
  }
  if (!next) return;
  // setTimeout holds at most ~24 days: a longer wait wakes up once a day.
  const wait = Math.min(next - Date.now() + 50, 86400000);
  expiryTimer = setTimeout(() => { emit("members"); renderTimeout(); }, Math.max(wait, 0));
}

// ---- the user's own server mute and deafen ----

/** The user's voice state in a server's voice channel, if any. */
function myVoice() {
  if (!state.me) return null;
  for (const g of state.guilds.values()) {
    const v = g.voice.get(state.me.id);
    if (v && v.channel_id) return v;
  }
  return null;
}

const SERVER_MUTED = "A moderator muted you on this server: you cannot unmute yourself.";

/** "Server muted" / "Server deafened" in the voice panel; the Mute buttons say why they cannot unmute. */
function renderServerVoice() {
  const v = myVoice();
  const words = v ? [v.mute ? "Server muted" : null, v.deaf ? "Server deafened" : null].filter(Boolean) : [];
  let line = $("voice-server-state");
  const where = document.querySelector("#voice-panel .voice-where");
  if (words.length && !line && where) {
    line = h("p.voice-server-state", { id: "voice-server-state", role: "status" });
    where.after(line);
  }
  if (line) {
    line.hidden = !words.length;
    line.textContent = words.length ? `${words.join(" · ")} by a moderator` : "";
  }
  let note = $("voice-server-mute-note");
  if (!note) {
    note = h("span.visually-hidden", { id: "voice-server-mute-note" }, SERVER_MUTED);
    document.body.append(note);
  }
  for (const b of document.querySelectorAll('[data-action="mute"]')) {
    const ids = (b.getAttribute("aria-describedby") || "").split(" ").filter((id) => id && id !== note.id);
    if (v && v.mute) ids.push(note.id);
    if (ids.length) b.setAttribute("aria-describedby", ids.join(" "));
    else b.removeAttribute("aria-describedby");
    if (v && v.mute) b.title = SERVER_MUTED;
    else if (b.title === SERVER_MUTED) b.removeAttribute("title");
  }
}

// ---- removed from a server ----

/** A kick or a ban took a server from the user: say so (a dialog if it was open). */
function removedFrom(detail, wasOpen) {
  const name = detail.name || "a server";
  const text = detail.banned
    ? `You were banned from ${name}. Its invites will not let you back in.`
    : `You were removed from ${name} by a moderator (kicked or banned). If you were kicked, an invite lets you join again.`;
  if (!wasOpen) { notify(`You were removed from ${name}.`); return; }
  dialog({
    title: detail.banned ? `You were banned from ${name}` : `You were removed from ${name}`,
    ok: "OK",
    cancel: false,
    body: [h("p", {}, text)],
  });
}

export function initModeration() {
  on("members", () => { renderTimeout(); scheduleExpiry(); });
  on("guilds", (detail) => {
    // Called before the navigation (main.js) moves on from the server.
    if (detail && detail.deleted && detail.removed) removedFrom(detail, detail.deleted === state.guildId);
    renderTimeout();
    renderServerVoice();
    scheduleExpiry();
  });
  on("voice", renderServerVoice);
  // A click on Mute while server muted: it cannot do what it would.
  for (const b of document.querySelectorAll('[data-action="mute"]')) {
    b.addEventListener("click", () => {
      const v = myVoice();
      if (v && v.mute) notify(SERVER_MUTED, "info");
    });
  }
}
