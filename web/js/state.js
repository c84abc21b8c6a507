// What the client knows, kept up to date by gateway dispatches. Views read
// it and subscribe to changes by topic; only this module applies events.

import { ACTIVITY, PERM, TIMEOUT_KEEPS } from "./wire.js";

const listeners = new Map();

/** `on("guilds", fn)`; topics: guilds, channels, threads, members, roles, channels-gained, voice, calls, messages, typing, me, relationships. */
export function on(topic, fn) {
  if (!listeners.has(topic)) listeners.set(topic, new Set());
  listeners.get(topic).add(fn);
}

export function emit(topic, detail) {
  for (const fn of listeners.get(topic) || []) fn(detail);
}

export const state = {
  me: null,
  /** guild id -> Guild (with `channels`, `members`, `presences`, `voice` maps) */
  guilds: new Map(),
  guildId: null,
  channelId: null,
  /** The thread open in the side panel, if any. */
  threadId: null,
  /** channel id -> {list: Message[] oldest first, complete: bool} */
  messages: new Map(),
  /** channel id -> Map(user id -> expiry ms) */
  typing: new Map(),
  /** channel id -> newest message id seen by the user */
  lastRead: JSON.parse(localStorage.getItem("hearth.lastRead") || "{}"),
  /** channel ids with messages the user has not seen */
  unread: new Set(),
  /** DM and group DM id -> channel (recipients: the others) */
  dms: new Map(),
  /** channel id -> unread messages that mention the user (any DM message counts) */
  mentions: new Map(),
  /** channel id -> messages being sent from here, in the order typed (see addPending) */
  pending: new Map(),
  /** guild id -> the user's notification settings there (only those changed) */
  guildSettings: new Map(),
  /** Who may DM the user: `{restricted_guilds, default_guilds_restricted}` */
  dmPrivacy: { restricted_guilds: [], default_guilds_restricted: false },
  /** DM or group DM id -> its call in progress: `{channel_id, region, ringing: [user ids], voice: Map(user id -> voice state)}` */
  calls: new Map(),
  /** user id -> the user's block of them: `{id, type: 2, user, since}` (READY's `relationships`, RELATIONSHIP_*) */
  blocked: new Map(),
  /** user id -> their custom status (a presence's activity of type 4, its `state`); the user's own is what they set (usersettings.js) */
  statusText: new Map(),
};

/** The rail's "Direct Messages" home, selected in place of a guild. */
export const HOME = "@me";

// Snowflakes are decimal strings beyond 2^53: compare them as BigInts.
export const idCmp = (a, b) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0);

export function saveLastRead(channelId, messageId) {
  if (!messageId) return;
  const prev = state.lastRead[channelId];
  if (prev && idCmp(prev, messageId) >= 0) return;
  state.lastRead[channelId] = messageId;
  localStorage.setItem("hearth.lastRead", JSON.stringify(state.lastRead));
}

/** Whether the user blocks someone. */
export const isBlocked = (userId) => state.blocked.has(userId);

/**
 * Whether a message comes from someone the user blocks: shown collapsed,
 * and it never alerts. (A webhook's author is no user to block.)
 */
export const fromBlocked = (m) => !!m && !!m.author && !m.webhook_id && isBlocked(m.author.id);

/** The one other person of a DM (not a group DM), or null. */
export const dmRecipient = (c) => (c && c.type === 1 && c.recipients && c.recipients[0]) || null;

/** Whether a message from someone else would badge its channel for the user. */
export function notifiesMe(m) {
  if (!state.me || m.author.id === state.me.id || fromBlocked(m)) return false;
  if (!m.guild_id) return true;
  if (m.mention_everyone || (m.mentions || []).some((u) => u.id === state.me.id)) return true;
  const g = state.guilds.get(m.guild_id);
  const member = g && g.members.get(state.me.id);
  return !!member && (m.mention_roles || []).some((r) => member.roles.includes(r));
}

/** The user's notification settings for a guild: theirs, or the guild's default. */
export function guildSettings(guildId) {
  const own = state.guildSettings.get(guildId);
  if (own) return own;
  const g = state.guilds.get(guildId);
  return {
    guild_id: guildId, message_notifications: (g && g.default_message_notifications) || 0, muted: false,
    mute_config: null, suppress_everyone: false, suppress_roles: false, channel_overrides: [],
  };
}

/** A mute in force: set, and its end (if any) still ahead. */
export const mutedNow = (muted, config) =>
  !!muted && !(config && config.end_time && Date.parse(config.end_time) <= Date.now());

export const channelOverride = (guildId, channelId) =>
  guildSettings(guildId).channel_overrides.find((o) => o.channel_id === channelId);

/** Whether the channel (or its whole server) is muted now. */
export function channelMuted(guildId, channelId) {
  const s = guildSettings(guildId);
  const o = channelOverride(guildId, channelId);
  return mutedNow(s.muted, s.mute_config) || (!!o && mutedNow(o.muted, o.mute_config));
}

/**
 * Whether a message from someone else should alert the user (a sound and
 * a desktop notification), as their settings say: any DM; in a server,
 * unless muted, every message, only mentions, or nothing.
 */
export function alertsMe(m) {
  if (!state.me || m.author.id === state.me.id || fromBlocked(m)) return false;
  if (!m.guild_id) return true;
  // A thread's messages follow its channel's settings.
  const t = thread(m.channel_id);
  const channelId = t ? t.parent_id : m.channel_id;
  if (channelMuted(m.guild_id, channelId)) return false;
  const s = guildSettings(m.guild_id);
  const o = channelOverride(m.guild_id, channelId);
  const level = o && o.message_notifications !== 3 ? o.message_notifications : s.message_notifications;
  if (level === 0) return true;
  if (level === 2) return false;
  if ((m.mentions || []).some((u) => u.id === state.me.id)) return true;
  if (m.mention_everyone) return !s.suppress_everyone;
  return !s.suppress_roles && notifiesMe({ ...m, mention_everyone: false });
}

/** Unread mentions in a set of channels. */
export const mentionCount = (ids) => [...ids].reduce((n, id) => n + (state.mentions.get(id) || 0), 0);

/** The user read the channel up to `messageId` (here or on another device). */
export function markChannelRead(channelId, messageId) {
  saveLastRead(channelId, messageId);
  const c = channel(channelId);
  const newest = c && c.last_message_id;
  if (!newest || idCmp(newest, state.lastRead[channelId]) <= 0) {
    state.unread.delete(channelId);
    state.mentions.delete(channelId);
  }
  emit("unread");
}

export const guild = (id = state.guildId) => state.guilds.get(id);
export const channel = (id = state.channelId) => {
  for (const g of state.guilds.values()) if (g.channels.has(id)) return g.channels.get(id);
  return state.dms.get(id) || null;
};

/** A thread the client knows (any server's), or null. */
export const thread = (id) => {
  for (const g of state.guilds.values()) if (g.threads.has(id)) return g.threads.get(id);
  return null;
};

export const isPrivate = (c) => !!c && (c.type === 1 || c.type === 3);
const userName = (u) => u.global_name || u.username;

export function displayName(guildId, userId) {
  const g = state.guilds.get(guildId);
  const m = g && g.members.get(userId);
  if (m) return m.nick || userName(m.user);
  if (state.me && state.me.id === userId) return userName(state.me);
  // A DM's message: whoever they are in a shared server or a DM.
  for (const other of state.guilds.values()) {
    const known = other.members.get(userId);
    if (known) return userName(known.user);
  }
  for (const c of state.dms.values()) {
    const r = (c.recipients || []).find((u) => u.id === userId);
    if (r) return userName(r);
  }
  return "unknown";
}

/** What a channel is called in headers and lists. */
export function channelLabel(c) {
  if (!c) return "";
  if (c.type === 1) return `@${(c.recipients || []).map(userName).join(", ") || "yourself"}`;
  if (c.type === 3) return c.name || (c.recipients || []).map(userName).join(", ") || "Empty group";
  return `# ${c.name}`;
}

/** The status others see: offline unless a presence says otherwise. */
export function presenceOf(guildId, userId) {
  const g = state.guilds.get(guildId);
  return (g && g.presences.get(userId)) || "offline";
}

// Permission bits (docs/protocol.md §1.6), as BigInts: wire.js has them all.
export { PERM };

/** The user's guild-wide permissions, computed as the server does. */
export function guildPermissions(g = guild()) {
  if (!g || !state.me) return 0n;
  if (g.owner_id === state.me.id) return ~0n;
  const member = g.members.get(state.me.id);
  const mine = new Set(member ? member.roles : []);
  let perms = 0n;
  for (const role of g.roles) {
    if (role.id === g.id || mine.has(role.id)) perms |= BigInt(role.permissions);
  }
  if (perms & PERM.ADMINISTRATOR) return ~0n;
  // A time-out leaves only reading, server-wide too (docs/protocol.md §1.6).
  return timedOutUntil(member) ? perms & TIMEOUT_KEEPS : perms;
}

/**
 * When a member's time-out ends (ms since the epoch), or 0 when they are
 * not timed out now (none, or one already past).
 */
export function timedOutUntil(member) {
  const until = member && member.communication_disabled_until ? Date.parse(member.communication_disabled_until) : 0;
  return until > Date.now() ? until : 0;
}

export const can = (perm, g = guild()) => (guildPermissions(g) & perm) === perm;

/**
 * Whether the user sees a server's channel: its overwrites (@everyone's,
 * then their roles', then their own) over the guild-wide permissions, as
 * the server computes them.
 */
export function canView(c, g = state.guilds.get(c.guild_id)) {
  if (!g || !state.me || isPrivate(c)) return true;
  let perms = guildPermissions(g);
  if (perms === ~0n) return true;
  const member = g.members.get(state.me.id);
  // Without the user's roles, nothing is taken away on a guess.
  if (!member) return true;
  const mine = new Set(member.roles || []);
  const overwrites = c.permission_overwrites || [];
  const over = (allow, deny) => { perms = (perms & ~BigInt(deny)) | BigInt(allow); };
  const everyone = overwrites.find((o) => Number(o.type) === 0 && o.id === g.id);
  if (everyone) over(everyone.allow, everyone.deny);
  let allow = 0n;
  let deny = 0n;
  for (const o of overwrites) {
    if (Number(o.type) !== 0 || o.id === g.id || !mine.has(o.id)) continue;
    allow |= BigInt(o.allow);
    deny |= BigInt(o.deny);
  }
  over(allow, deny);
  const own = overwrites.find((o) => Number(o.type) === 1 && o.id === state.me.id);
  if (own) over(own.allow, own.deny);
  return (perms & PERM.VIEW_CHANNEL) !== 0n;
}

/**
 * A change of roles or overwrites took channels out of the user's sight
 * (the server tells nothing more of them): they go as if deleted, and the
 * views hear `{ deleted, hidden: name }` to say so.
 */
function dropHidden(g) {
  if (!g || !state.me) return;
  for (const c of [...g.channels.values()]) {
    if (canView(c, g)) continue;
    apply("CHANNEL_DELETE", c, { hidden: true });
  }
}

/** The guild fields kept beside name, owner and roles (GUILD_CREATE, GUILD_UPDATE). */
const GUILD_FIELDS = ["icon", "description", "system_channel_id", "afk_channel_id", "afk_timeout", "default_message_notifications"];

/** Roles lowest first: by position, then the higher id lower (docs/protocol.md §4.5). */
export const sortRoles = (roles) => [...roles].sort((a, b) => a.position - b.position || idCmp(b.id, a.id));

function sortChannels(g) {
  g.channelOrder = [...g.channels.values()].sort((a, b) => a.position - b.position || idCmp(a.id, b.id));
}

function addGuild(d) {
  const g = {
    id: d.id, name: d.name, owner_id: d.owner_id, roles: sortRoles(d.roles || []),
    ...Object.fromEntries(GUILD_FIELDS.filter((k) => k in d).map((k) => [k, d[k]])),
    member_count: d.member_count,
    channels: new Map((d.channels || []).map((c) => [c.id, c])),
    members: new Map((d.members || []).map((m) => [m.user.id, m])),
    presences: new Map((d.presences || []).map((p) => [p.user.id, p.status])),
    voice: new Map((d.voice_states || []).map((v) => [v.user_id, { ...v, guild_id: d.id }])),
    /** thread id -> thread: the unarchived ones from GUILD_CREATE, and any learnt since */
    threads: new Map((d.threads || []).map((t) => [t.id, { ...t, guild_id: d.id }])),
  };
  for (const v of g.voice.values()) if (v.member) g.members.set(v.user_id, v.member);
  for (const p of d.presences || []) learnStatusText(p);
  sortChannels(g);
  state.guilds.set(g.id, g);
  for (const c of g.channels.values()) {
    const read = state.lastRead[c.id];
    if (c.type === 0 && c.last_message_id && (!read || idCmp(c.last_message_id, read) > 0)) {
      state.unread.add(c.id);
    }
  }
}

/**
 * A channel's newest page, fetched, into the cache; what the gateway
 * brought meanwhile (if the channel was cached) stays.
 */
export function cachePage(channelId, page, complete) {
  const cached = state.messages.get(channelId);
  const byId = new Map((cached ? cached.list : []).map((m) => [m.id, m]));
  for (const m of page) if (!byId.has(m.id)) byId.set(m.id, m);
  state.messages.set(channelId, { list: [...byId.values()].sort((a, b) => idCmp(a.id, b.id)), complete });
}

/**
 * Messages this client is still sending, per channel, in the order typed:
 * { nonce, channel_id, content, message_reference, failed }. Shown as
 * "sending" until the server's copy (same nonce) arrives.
 */
export const pendingIn = (channelId) => state.pending.get(channelId) || [];

export function addPending(p) {
  state.pending.set(p.channel_id, [...pendingIn(p.channel_id), p]);
  emit("pending", p.channel_id);
}

export function setPendingFailed(channelId, nonce, failed) {
  const p = pendingIn(channelId).find((x) => x.nonce === nonce);
  if (!p) return;
  p.failed = failed;
  emit("pending", channelId);
}

/** Forgets a pending message; true when there was one. */
export function dropPending(channelId, nonce) {
  const list = pendingIn(channelId);
  const kept = list.filter((x) => x.nonce !== nonce);
  if (kept.length === list.length) return false;
  if (kept.length) state.pending.set(channelId, kept);
  else state.pending.delete(channelId);
  return true;
}

function upsertMessage(m) {
  const entry = state.messages.get(m.channel_id);
  if (!entry) return false;
  const i = entry.list.findIndex((x) => x.id === m.id);
  if (i >= 0) entry.list[i] = { ...entry.list[i], ...m };
  else {
    entry.list.push(m);
    entry.list.sort((a, b) => idCmp(a.id, b.id));
  }
  return true;
}

/**
 * A thread's news for the views: its own listeners, and the message it
 * started (if cached), whose link under it shows the name and the count.
 */
function threadChanged(t) {
  emit("threads", t.id);
  const entry = t.parent_id && state.messages.get(t.parent_id);
  const starter = entry && entry.list.find((m) => m.id === t.id);
  if (starter) emit("messages", { channelId: t.parent_id, updated: starter });
}

/** Keeps a thread (from a dispatch or a REST answer) in its server's list. */
export function learnThread(t) {
  const g = state.guilds.get(t.guild_id);
  if (!g) return;
  const known = { ...g.threads.get(t.id), ...t };
  delete known.newly_created;
  g.threads.set(t.id, known);
  threadChanged(known);
}

/** The cached message a reaction event is about, if any. */
function reacted(d) {
  const entry = state.messages.get(d.channel_id);
  return entry && entry.list.find((m) => m.id === d.message_id);
}

const sameEmoji = (a, b) => (a.id || null) === (b.id || null) && a.name === b.name;

/** One user's reaction added (+1) or removed (-1) on a cached message. */
function countReaction(m, d, delta) {
  const mine = state.me && d.user_id === state.me.id;
  const list = m.reactions ? [...m.reactions] : [];
  const i = list.findIndex((r) => sameEmoji(r.emoji, d.emoji));
  if (i < 0) {
    if (delta > 0) list.push({ count: 1, me: mine, emoji: d.emoji });
  } else {
    const r = { ...list[i], count: list[i].count + delta };
    if (mine) r.me = delta > 0;
    if (r.count > 0) list[i] = r;
    else list.splice(i, 1);
  }
  m.reactions = list;
}

/** The text of a custom status among a presence's activities, or "". */
export function customStatusText(activities) {
  const a = (activities || []).find((x) => x && x.type === ACTIVITY.CUSTOM);
  return a && typeof a.state === "string" ? a.state.trim().slice(0, 128) : "";
}

/** A presence (PRESENCE_UPDATE, or GUILD_CREATE's and a chunk's `presences`) brings its custom status. */
function learnStatusText(p) {
  const text = p.status === "offline" ? "" : customStatusText(p.activities);
  if (text) state.statusText.set(p.user.id, text);
  else state.statusText.delete(p.user.id);
}

/** The user's own custom status, set here (the server never echoes one's own presence). */
export function setOwnStatusText(text) {
  if (!state.me) return;
  if (text) state.statusText.set(state.me.id, text);
  else state.statusText.delete(state.me.id);
  emit("members");
}

/** Whether a user object brings another name or avatar than the guild's copy of them. */
function changedUser(g, user) {
  const known = g && g.members.get(user.id);
  const same = (a, b) => (a ?? null) === (b ?? null);
  return !!known && !!known.user && (!same(known.user.global_name, user.global_name) || !same(known.user.avatar, user.avatar));
}

/**
 * A user's name or avatar changed: every copy of them the client keeps
 * (members, DM recipients) follows, and the open channel's messages by
 * them are shown again.
 */
function userChanged(user) {
  for (const g of state.guilds.values()) {
    const m = g.members.get(user.id);
    if (m && m.user) m.user = { ...m.user, global_name: user.global_name, avatar: user.avatar, username: user.username };
  }
  for (const c of state.dms.values()) {
    for (const r of c.recipients || []) if (r.id === user.id) Object.assign(r, { global_name: user.global_name, avatar: user.avatar });
  }
  emit("members");
  const entry = state.messages.get(state.channelId);
  for (const m of entry ? entry.list : []) {
    if (m.author && m.author.id === user.id && !m.webhook_id) emit("messages", { channelId: state.channelId, updated: m });
  }
}

/** Applies one gateway dispatch. */
export function apply(t, d, { hidden = false } = {}) {
  switch (t) {
    case "READY":
      state.me = d.user;
      state.guilds.clear();
      // The server's read states win over what this browser remembers.
      state.mentions.clear();
      for (const e of (d.read_state && d.read_state.entries) || []) {
        saveLastRead(e.id, e.last_message_id);
        if (e.mention_count > 0) state.mentions.set(e.id, e.mention_count);
      }
      state.dmPrivacy = { restricted_guilds: [], default_guilds_restricted: false, ...(d.user_settings || {}) };
      state.guildSettings = new Map(((d.user_guild_settings && d.user_guild_settings.entries) || []).map((e) => [e.guild_id, e]));
      state.dms = new Map((d.private_channels || []).map((c) => [c.id, c]));
      state.blocked = new Map((d.relationships || []).filter((r) => r.type === 2).map((r) => [r.id, r]));
      emit("relationships");
      // Calls in progress follow as CALL_CREATE, one each.
      state.calls.clear();
      emit("calls");
      for (const c of state.dms.values()) {
        const read = state.lastRead[c.id];
        if (c.last_message_id && (!read || idCmp(c.last_message_id, read) > 0)) state.unread.add(c.id);
      }
      // A new session: message caches may have missed events.
      state.messages.clear();
      emit("me");
      emit("guilds");
      break;
    case "GUILD_CREATE":
      addGuild(d);
      if (d.member_count > (d.members || []).length) emit("request-members", d.id);
      emit("guilds", { created: d.id });
      break;
    case "GUILD_UPDATE": {
      const g = state.guilds.get(d.id);
      if (g) {
        g.name = d.name; g.roles = sortRoles(d.roles || g.roles); g.owner_id = d.owner_id;
        // The settings the server settings show (serversettings.js).
        for (const k of GUILD_FIELDS) if (k in d) g[k] = d[k];
      }
      emit("guilds");
      emit("members");
      emit("roles", d.id);
      break;
    }
    // Only to those who may manage the channel (protocol.md §4.9): the
    // server settings' list of invites, once it was loaded (invites.js).
    case "INVITE_CREATE": {
      const g = state.guilds.get(d.guild_id);
      // While the list loads, its answer may predate this: kept for after.
      if (g && g.invitesLoading) { g.invitesPending.push([t, d]); break; }
      if (g && g.invites) {
        const c = g.channels.get(d.channel_id);
        g.invites.set(d.code, { ...d, channel: { id: d.channel_id, name: c ? c.name : "", type: c ? c.type : 0 } });
        emit("invites", d.guild_id);
      }
      break;
    }
    case "INVITE_DELETE": {
      const g = state.guilds.get(d.guild_id);
      if (g && g.invitesLoading) { g.invitesPending.push([t, d]); break; }
      if (g && g.invites && g.invites.delete(d.code)) emit("invites", d.guild_id);
      break;
    }
    case "GUILD_DELETE": {
      // Its name, and whether the user was put out of it (a kick or a ban:
      // their own GUILD_MEMBER_REMOVE came first), for the views to say so.
      const g = state.guilds.get(d.id);
      state.guilds.delete(d.id);
      emit("guilds", { deleted: d.id, name: g ? g.name : null, removed: !!(g && g.removedMe && !g.leaving), banned: !!(g && g.bannedMe) });
      break;
    }
    case "GUILD_BAN_ADD": {
      // Only with GUILD_MODERATION, which this client does not ask for:
      // kept for a server that tells the banned user.
      const g = state.guilds.get(d.guild_id);
      if (g && state.me && d.user.id === state.me.id) g.bannedMe = true;
      break;
    }
    case "GUILD_ROLE_CREATE":
    case "GUILD_ROLE_UPDATE": {
      const g = state.guilds.get(d.guild_id);
      if (!g) break;
      g.roles = sortRoles(g.roles.filter((r) => r.id !== d.role.id).concat([d.role]));
      dropHidden(g);
      emit("channels");
      // A role of the user's may show them channels: the server sends no
      // CHANNEL_CREATE for those (docs/protocol.md §6.8).
      if (d.role.id === g.id || (g.members.get(state.me.id)?.roles || []).includes(d.role.id)) emit("channels-gained", g.id);
      // Names' colours and the member list's sections follow the roles.
      emit("members");
      emit("roles", g.id);
      break;
    }
    case "GUILD_ROLE_DELETE": {
      const g = state.guilds.get(d.guild_id);
      if (!g) break;
      g.roles = g.roles.filter((r) => r.id !== d.role_id);
      // The server takes it from every member and overwrite without
      // telling (docs/protocol.md §4.5): so does the client.
      for (const m of g.members.values()) if (m.roles) m.roles = m.roles.filter((id) => id !== d.role_id);
      for (const c of g.channels.values()) {
        if (c.permission_overwrites) c.permission_overwrites = c.permission_overwrites.filter((o) => o.id !== d.role_id);
      }
      dropHidden(g);
      emit("channels");
      emit("members");
      emit("roles", g.id);
      break;
    }
    case "CHANNEL_CREATE":
    case "CHANNEL_UPDATE": {
      if (isPrivate(d)) {
        state.dms.set(d.id, d);
        emit("channels");
        // The rail's home mark counts the DMs known: this one may be unread.
        emit("unread");
        break;
      }
      const g = state.guilds.get(d.guild_id);
      if (!g) break;
      // New overwrites may take it out of the user's sight.
      if (t === "CHANNEL_UPDATE" && g.channels.has(d.id) && !canView(d, g)) {
        apply("CHANNEL_DELETE", d, { hidden: true });
        break;
      }
      g.channels.set(d.id, d);
      sortChannels(g);
      emit("channels");
      break;
    }
    case "CHANNEL_RECIPIENT_ADD":
    case "CHANNEL_RECIPIENT_REMOVE": {
      const c = state.dms.get(d.channel_id);
      if (!c) break;
      c.recipients = (c.recipients || []).filter((u) => u.id !== d.user.id);
      if (t === "CHANNEL_RECIPIENT_ADD") c.recipients.push(d.user);
      emit("channels");
      break;
    }
    case "CHANNEL_DELETE": {
      if (isPrivate(d)) {
        state.dms.delete(d.id);
        state.unread.delete(d.id);
        if (state.calls.delete(d.id)) emit("calls", d.id);
        emit("channels", { deleted: d.id });
        break;
      }
      const g = state.guilds.get(d.guild_id);
      if (!g) break;
      g.channels.delete(d.id);
      for (const c of g.channels.values()) if (c.parent_id === d.id) c.parent_id = null;
      // Its threads went with it.
      for (const t of [...g.threads.values()]) {
        if (t.parent_id !== d.id) continue;
        g.threads.delete(t.id);
        state.messages.delete(t.id);
        emit("threads", t.id);
      }
      sortChannels(g);
      state.messages.delete(d.id);
      state.unread.delete(d.id);
      emit("channels", { deleted: d.id, hidden: hidden ? d.name : undefined });
      break;
    }
    case "GUILD_MEMBER_ADD":
    case "GUILD_MEMBER_UPDATE": {
      const g = state.guilds.get(d.guild_id);
      if (!g) break;
      const prev = g.members.get(d.user.id);
      // A new name or avatar (the server tells every guild of the user):
      // every copy of them follows, their messages too.
      const renamed = changedUser(g, d.user);
      g.members.set(d.user.id, { ...prev, ...d });
      if (renamed) userChanged(d.user);
      emit("members");
      if (d.user.id === state.me.id) { dropHidden(g); emit("channels"); emit("channels-gained", g.id); }
      break;
    }
    case "GUILD_MEMBER_REMOVE": {
      const g = state.guilds.get(d.guild_id);
      if (!g) break;
      g.members.delete(d.user.id);
      g.presences.delete(d.user.id);
      // The user's own removal: their GUILD_DELETE follows (see above).
      if (state.me && d.user.id === state.me.id) g.removedMe = true;
      emit("members");
      break;
    }
    case "GUILD_MEMBERS_CHUNK": {
      const g = state.guilds.get(d.guild_id);
      if (!g) break;
      for (const m of d.members) g.members.set(m.user.id, m);
      for (const p of d.presences || []) { g.presences.set(p.user.id, p.status); learnStatusText(p); }
      emit("members");
      break;
    }
    case "PRESENCE_UPDATE": {
      const g = state.guilds.get(d.guild_id);
      if (!g) break;
      if (d.status === "offline") g.presences.delete(d.user.id);
      else g.presences.set(d.user.id, d.status);
      learnStatusText(d);
      emit("members");
      break;
    }
    case "USER_UPDATE":
      if (state.me && d.id === state.me.id) state.me = d;
      userChanged(d);
      emit("me");
      break;
    case "MESSAGE_CREATE": {
      const g = state.guilds.get(d.guild_id);
      // The server tells others nothing when a user renames themselves
      // (USER_UPDATE goes to their own sessions only): their next message
      // carries the new name, for the member list and their earlier messages.
      const renamed = !d.webhook_id && changedUser(g, d.author);
      if (g && d.member) g.members.set(d.author.id, { ...d.member, user: d.author });
      if (renamed) userChanged(d.author);
      const c = g ? g.channels.get(d.channel_id) : state.dms.get(d.channel_id);
      if (c) c.last_message_id = d.id;
      const t = g && g.threads.get(d.channel_id);
      // Counted once: the sender's tab applies its own message before the
      // gateway's copy arrives. (THREAD_UPDATE brings the server's count.)
      if (t && (!t.last_message_id || idCmp(d.id, t.last_message_id) > 0)) {
        t.last_message_id = d.id;
        t.message_count = (t.message_count || 0) + 1;
        t.total_message_sent = (t.total_message_sent || 0) + 1;
        threadChanged(t);
      }
      // A DM this client has not seen yet (someone wrote first).
      if (!d.guild_id && !c) emit("dm-unknown", d.channel_id);
      clearTyping(d.channel_id, d.author.id);
      // The server's copy of one this client is still sending.
      if (d.nonce != null && dropPending(d.channel_id, String(d.nonce))) emit("pending", d.channel_id);
      upsertMessage(d);
      const mine = state.me && d.author.id === state.me.id;
      const inView = d.channel_id === state.channelId || d.channel_id === state.threadId;
      const seen = mine || (inView && document.visibilityState === "visible");
      // The user's own message, from any session, reads the channel up to it.
      if (seen) {
        saveLastRead(d.channel_id, d.id);
        state.unread.delete(d.channel_id);
        state.mentions.delete(d.channel_id);
      } else {
        state.unread.add(d.channel_id);
        if (notifiesMe(d)) state.mentions.set(d.channel_id, (state.mentions.get(d.channel_id) || 0) + 1);
      }
      // Away from the tab, what the user asked to hear of calls them back.
      if (document.visibilityState !== "visible" && alertsMe(d)) emit("alert", d);
      emit("messages", { channelId: d.channel_id, created: d });
      emit("unread");
      break;
    }
    case "MESSAGE_UPDATE":
      if (upsertMessage(d)) emit("messages", { channelId: d.channel_id, updated: d });
      break;
    case "USER_SETTINGS_UPDATE":
      state.dmPrivacy = d;
      break;
    case "RELATIONSHIP_ADD":
      // Type 2 is a block; any other (none on this server) replaces it.
      if (d.type === 2) state.blocked.set(d.id, { ...state.blocked.get(d.id), ...d });
      else state.blocked.delete(d.id);
      emit("relationships", d.id);
      break;
    case "RELATIONSHIP_REMOVE":
      state.blocked.delete(d.id);
      emit("relationships", d.id);
      break;
    case "USER_GUILD_SETTINGS_UPDATE":
      state.guildSettings.set(d.guild_id, d);
      emit("guild-settings", d.guild_id);
      break;
    case "MESSAGE_ACK":
      markChannelRead(d.channel_id, d.message_id);
      break;
    case "THREAD_CREATE":
    case "THREAD_UPDATE":
      learnThread(d);
      break;
    case "THREAD_DELETE": {
      const g = state.guilds.get(d.guild_id);
      const t = g && g.threads.get(d.id);
      if (g) g.threads.delete(d.id);
      state.messages.delete(d.id);
      // The message it started leads nowhere now.
      const entry = state.messages.get(d.parent_id);
      const starter = entry && entry.list.find((m) => m.id === d.id);
      if (starter) starter.flags &= ~32;
      threadChanged(t || d);
      break;
    }
    case "THREAD_MEMBERS_UPDATE": {
      const g = state.guilds.get(d.guild_id);
      const t = g && g.threads.get(d.id);
      if (!t) break;
      t.member_count = d.member_count;
      // Whether the user is in it: GUILD_CREATE's threads do not say, so
      // this and the thread panel's own question (threads.js) keep `joined`.
      if ((d.added_members || []).some((m) => m.user_id === state.me.id)) t.joined = true;
      if ((d.removed_member_ids || []).includes(state.me.id)) {
        t.joined = false;
        // Out of a private thread, only a moderator still sees it.
        if (t.type === 12 && !can(PERM.MANAGE_THREADS, g)) {
          g.threads.delete(t.id);
          state.messages.delete(t.id);
          emit("thread-hidden", t);
        }
      }
      threadChanged(t);
      break;
    }
    case "CHANNEL_PINS_UPDATE":
      emit("pins", d.channel_id);
      break;
    case "MESSAGE_DELETE":
    case "MESSAGE_DELETE_BULK": {
      const ids = new Set(d.ids || [d.id]);
      const entry = state.messages.get(d.channel_id);
      if (entry) entry.list = entry.list.filter((m) => !ids.has(m.id));
      emit("messages", { channelId: d.channel_id, deleted: [...ids] });
      break;
    }
    case "MESSAGE_REACTION_ADD":
    case "MESSAGE_REACTION_REMOVE":
    case "MESSAGE_REACTION_REMOVE_ALL":
    case "MESSAGE_REACTION_REMOVE_EMOJI": {
      const m = reacted(d);
      if (!m) break;
      if (t === "MESSAGE_REACTION_ADD") countReaction(m, d, 1);
      else if (t === "MESSAGE_REACTION_REMOVE") countReaction(m, d, -1);
      else if (t === "MESSAGE_REACTION_REMOVE_ALL") m.reactions = [];
      else m.reactions = (m.reactions || []).filter((r) => !sameEmoji(r.emoji, d.emoji));
      emit("messages", { channelId: d.channel_id, updated: m });
      break;
    }
    case "TYPING_START": {
      if (state.me && d.user_id === state.me.id) break;
      const g = state.guilds.get(d.guild_id);
      if (g && d.member && d.member.user) {
        // Typing comes before the message: a new name may come with it first.
        const renamed = changedUser(g, d.member.user);
        g.members.set(d.user_id, d.member);
        if (renamed) userChanged(d.member.user);
      }
      if (!state.typing.has(d.channel_id)) state.typing.set(d.channel_id, new Map());
      state.typing.get(d.channel_id).set(d.user_id, Date.now() + 10000);
      emit("typing", d.channel_id);
      setTimeout(() => emit("typing", d.channel_id), 10100);
      break;
    }
    case "CALL_CREATE": {
      const call = callRecord(d.channel_id);
      call.region = d.region || null;
      call.ringing = d.ringing || [];
      call.voice = new Map();
      for (const v of d.voice_states || []) joinCall(v);
      // A call in a DM this client has not seen yet: fetch it for the list.
      if (!state.dms.has(d.channel_id)) emit("dm-unknown", d.channel_id);
      emit("calls", d.channel_id);
      break;
    }
    case "CALL_UPDATE": {
      const call = callRecord(d.channel_id);
      call.region = d.region || null;
      call.ringing = d.ringing || [];
      emit("calls", d.channel_id);
      break;
    }
    case "CALL_DELETE":
      state.calls.delete(d.channel_id);
      emit("calls", d.channel_id);
      break;
    case "VOICE_STATE_UPDATE": {
      // No guild: a state in a DM's call (a leave names no channel).
      if (!d.guild_id) {
        const left = callOf(d.user_id);
        if (d.channel_id) joinCall(d);
        else leaveCalls(d.user_id);
        emit("calls", d.channel_id || left);
        break;
      }
      const g = state.guilds.get(d.guild_id);
      if (!g) break;
      if (d.member) g.members.set(d.user_id, d.member);
      if (d.channel_id) g.voice.set(d.user_id, d);
      else g.voice.delete(d.user_id);
      emit("voice", d);
      break;
    }
    default:
      break;
  }
}

function clearTyping(channelId, userId) {
  const m = state.typing.get(channelId);
  if (m && m.delete(userId)) emit("typing", channelId);
}

/** Who is typing in a channel right now. */
export function typingIn(channelId) {
  const m = state.typing.get(channelId);
  if (!m) return [];
  const now = Date.now();
  // Nobody the user blocks is said to be typing.
  return [...m].filter(([id, until]) => until > now && !isBlocked(id)).map(([id]) => id);
}

/** The call of a DM, made when an event names one the client did not know. */
function callRecord(channelId) {
  let call = state.calls.get(channelId);
  if (!call) {
    call = { channel_id: channelId, region: null, ringing: [], voice: new Map() };
    state.calls.set(channelId, call);
  }
  return call;
}

/** A user is in one DM call at a time: joining one leaves any other. */
function joinCall(v) {
  leaveCalls(v.user_id);
  callRecord(v.channel_id).voice.set(v.user_id, v);
}

function leaveCalls(userId) {
  for (const call of state.calls.values()) call.voice.delete(userId);
}

/** The DM whose call the user is in, or null. */
export function callOf(userId) {
  for (const call of state.calls.values()) if (call.voice.has(userId)) return call.channel_id;
  return null;
}

/** The voice states of a DM's call, in join order (none without a call). */
export function callMembers(channelId) {
  const call = state.calls.get(channelId);
  return call ? [...call.voice.values()] : [];
}

/** The calls ringing the user now. */
export function callsRingingMe() {
  if (!state.me) return [];
  return [...state.calls.values()].filter((c) => c.ringing.includes(state.me.id));
}

/** The voice states of one voice channel, in join order. */
export function voiceMembers(g, channelId) {
  return [...g.voice.values()].filter((v) => v.channel_id === channelId);
}
