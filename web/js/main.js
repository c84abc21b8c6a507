// The app: signs in, keeps one gateway session, routes its dispatches into
// the state, and wires the views and their buttons together.

// First: the theme and font size are set before anything renders.
import "./appearance.js";
import { alertsShown, initAlerts, renderChannelMute } from "./alerts.js";
import { api, setToken, setUnauthorizedHandler } from "./api.js";
import { inviteNote, showAuth } from "./auth.js";
import { initBlocks } from "./blocks.js";
import { callShown, renderCall, renderVoicePanel } from "./call.js";
import { initChannelSettings, renderSlowmode } from "./channelsettings.js";
import { initChat, messagesChanged, openChat, renderTyping } from "./chat.js";
import { initCommands, interactionFailed, openModal } from "./commands.js";
import { initDmCalls, renderCallButton, renderRinging } from "./dmcall.js";
import { $, clearNotices, dialog, h, notify } from "./dom.js";
import { Gateway } from "./gateway.js";
import { renderMe, renderMembers } from "./members.js";
import { initMessageKeys } from "./messagekeys.js";
import { closePins, initPins } from "./pins.js";
import { closeProfile, initProfile } from "./profile.js";
import { initModeration } from "./moderation.js";
import { initBulkDelete } from "./bulkdelete.js";
import { createInvite } from "./invites.js";
import { initSearch, searchPlaceChanged } from "./search.js";
import { initServerSettings } from "./serversettings.js";
import { initSidebar, renderChannels, renderGuilds } from "./sidebar.js";
import { HOME, apply, callOf, channel, dmRecipient, guild, isBlocked, isPrivate, on, state } from "./state.js";
import { closeThreadPanels, initThreads, threadsReconnected } from "./threads.js";
import { initTouchMenus } from "./touch.js";
import { forgetFiles } from "./uploads.js";
import { VoiceCall } from "./voice.js";
import { initPushToTalk } from "./ptt.js";
import { closeSettings } from "./settings.js";
import { initUserSettings, ownActivities } from "./usersettings.js";

const session = {
  token: localStorage.getItem("hearth.token"),
  status: localStorage.getItem("hearth.status") || "online",
  gateway: null,
  call: null,
  /** A guild we created or joined whose GUILD_CREATE has not come yet. */
  pendingGuild: null,
  /** An invite code from the URL, offered once signed in. */
  invite: null,
};

const narrow = window.matchMedia("(max-width: 760px)");

// ---- session ----

function signedIn(token) {
  session.token = token;
  localStorage.setItem("hearth.token", token);
  setToken(token);
  $("auth-view").hidden = true;
  $("app").hidden = false;
  state.guildId = null;
  state.channelId = null;
  session.gateway = new Gateway({
    token,
    status: session.status,
    activities: ownActivities(),
    onDispatch: dispatch,
    onState: connectionState,
  });
  session.gateway.connect();
  showView();
}

function signedOut(message) {
  if (session.call) session.call.leave();
  if (session.gateway) session.gateway.stop();
  session.gateway = null;
  session.token = null;
  localStorage.removeItem("hearth.token");
  setToken(null);
  state.guilds.clear();
  state.messages.clear();
  state.calls.clear();
  state.blocked.clear();
  closeProfile({ refocus: false });
  closeSettings();
  renderRinging(null);
  forgetFiles();
  closeThreadPanels();
  state.me = null;
  $("connection").hidden = true;
  if (message) notify(message);
  showAuth({ onToken: signedIn, invite: null });
}

/** Logs out this session, or (`everywhere`) every session of the account (the server revokes every token). */
async function logout({ everywhere = false } = {}) {
  // The server ends this gateway session (4004) as it revokes the token: not a surprise to say.
  session.revoking = true;
  try { await api("POST", "/auth/logout", everywhere ? { everywhere: true } : undefined); } catch { /* the token is dropped either way */ }
  session.revoking = false;
  signedOut();
}

/** How often each connection event happened (shown to the tests). */
const counters = { ready: 0, resumed: 0, reconnecting: 0 };

function connectionState(s, detail) {
  if (s in counters) counters[s] += 1;
  const banner = $("connection");
  if (s === "ready" || s === "resumed") {
    banner.hidden = true;
    clearNotices("disconnected");
    if (s === "resumed" && session.call) session.call.gatewayBack(session.gateway.sessionId);
  } else if (s === "connecting") {
    banner.hidden = false;
    banner.textContent = "Connecting…";
  } else if (s === "reconnecting") {
    banner.hidden = false;
    banner.textContent = navigator.onLine === false
      ? "You're offline. Reconnecting when the network is back…"
      : "Can't reach the server. Reconnecting…";
  } else if (s === "failed") {
    // A password change revokes this token too; its new one follows (session-token).
    if (detail === 4004 && session.revoking) return;
    if (detail === 4004) signedOut("Your session has ended. Please log in again.");
    else { banner.hidden = false; banner.textContent = `Disconnected by the server (code ${detail}). Reload to try again.`; }
  }
}

function dispatch(t, d) {
  // The DM call a user leaves (a leave names none), before the state forgets it.
  const leftCall = t === "VOICE_STATE_UPDATE" && !d.guild_id && !d.channel_id ? callOf(d.user_id) : null;
  apply(t, d);
  const call = session.call;
  switch (t) {
    case "READY":
      // A new session: reload the open channel's history.
      $("message-list").dataset.channel = "";
      threadsReconnected();
      renderMe(session.status);
      if (session.invite) offerInvite(session.invite);
      if (localStorage.getItem("hearth.guild") === HOME) selectGuild(HOME);
      // A new gateway session needs a DM's call rejoined (a guild's waits for its GUILD_CREATE).
      if (call && !call.guildId) call.gatewayBack(session.gateway.sessionId);
      break;
    case "GUILD_CREATE": {
      const wanted = session.pendingGuild || localStorage.getItem("hearth.guild");
      if (!state.guildId || d.id === wanted) {
        if (session.pendingGuild === d.id) session.pendingGuild = null;
        if (state.guildId !== d.id) selectGuild(d.id);
      }
      // A new gateway session needs the call rejoined once the guild is there.
      if (call && call.guildId === d.id) call.gatewayBack(session.gateway.sessionId);
      break;
    }
    case "INTERACTION_MODAL_CREATE":
      openModal(d);
      break;
    case "INTERACTION_FAILURE":
      interactionFailed();
      break;
    case "GUILD_MEMBER_ADD":
      // A join publishes no presence: ask whether the newcomer is online.
      session.gateway.requestMembers(d.guild_id, [d.user.id]);
      break;
    case "VOICE_SERVER_UPDATE":
      // A DM call's has no guild, and names the DM.
      if (call && (d.guild_id || null) === call.guildId && (call.guildId || d.channel_id === call.channelId)) call.serverUpdate(d);
      break;
    case "VOICE_STATE_UPDATE":
      if (call && state.me && d.user_id === state.me.id && (d.guild_id || null) === call.guildId) {
        if (d.channel_id && d.channel_id !== call.channelId) {
          // Moved by a moderator: VOICE_SERVER_UPDATE follows. (Nobody
          // moves anyone between DM calls.)
          if (call.guildId) {
            call.channelId = d.channel_id;
            // The panel names the channel the user is in now.
            renderVoicePanel(call);
          }
        } else if (!d.channel_id && d.session_id === call.sessionId && call.live
          && (call.guildId || !leftCall || leftCall === call.channelId)) {
          // Disconnected by a moderator, or from another session. (A call
          // that is reconnecting was let go by the server meanwhile: it
          // rejoins instead. The leave of a DM call being switched from
          // is not this call's.)
          call.end(`You were disconnected from ${call.place}.`);
        }
      }
      break;
    default:
      break;
  }
}

// ---- navigation ----

function showDm(id) {
  state.guildId = HOME;
  localStorage.setItem("hearth.guild", HOME);
  selectChannel(id);
}

/**
 * Opens (or makes) the DM with a user and shows it. The server opens none
 * between people when either blocks the other (50007): one the client
 * knows still opens, to read (a DM with someone the user blocks says so
 * in place of its composer).
 */
async function openDm(userId) {
  const known = [...state.dms.values()].find((c) => { const r = dmRecipient(c); return r && r.id === userId; });
  if (known && isBlocked(userId)) { showDm(known.id); return; }
  try {
    const c = await api("POST", "/users/@me/channels", { recipient_id: userId });
    apply("CHANNEL_CREATE", c);
    showDm(c.id);
  } catch (err) {
    if (known && err.code === 50007) showDm(known.id);
    else if (isBlocked(userId)) notify("You blocked this person. Unblock them to send them messages.");
    else notify(`Couldn't open the conversation: ${err.message}`);
  }
}

/** A DM this client learnt of from a message: fetch it for the list. */
async function learnDm(channelId) {
  try {
    apply("CHANNEL_CREATE", await api("GET", `/channels/${channelId}`));
  } catch (err) {
    // The message stays; the list catches up on the next READY.
  }
}

function defaultChannel(g) {
  const remembered = localStorage.getItem(`hearth.channel.${g.id}`);
  if (remembered && g.channels.has(remembered)) return remembered;
  const text = g.channelOrder.find((c) => c.type === 0);
  return text ? text.id : null;
}

function selectGuild(id) {
  const changed = state.guildId !== id;
  if (changed) queueMicrotask(searchPlaceChanged);
  if (id === HOME) {
    state.guildId = HOME;
    localStorage.setItem("hearth.guild", HOME);
    const remembered = localStorage.getItem("hearth.channel.@me");
    selectChannel(remembered && state.dms.has(remembered) ? remembered : null, { join: false });
    return;
  }
  const g = state.guilds.get(id);
  if (!g) { session.pendingGuild = id; return; }
  state.guildId = id;
  localStorage.setItem("hearth.guild", id);
  selectChannel(defaultChannel(g), { join: false });
  if (g.member_count > g.members.size) session.gateway.requestMembers(id);
}

function selectChannel(id, { join = true } = {}) {
  closeProfile({ refocus: false });
  const g = guild();
  state.channelId = id;
  if (g && id) localStorage.setItem(`hearth.channel.${g.id}`, id);
  if (state.guildId === HOME && id) localStorage.setItem("hearth.channel.@me", id);
  const c = channel(id);
  if (c && c.type === 2 && join && !(session.call && session.call.channelId === id)) joinVoice(id);
  if (narrow.matches) setDrawer(false);
  showView();
}

/** Shows what the selection calls for: nothing yet, a text channel, or a voice channel. */
function showView() {
  renderGuilds();
  renderChannels(session.call);
  renderMembers();
  const c = channel();
  const kind = !c ? "empty" : c.type === 2 ? "call" : c.type === 0 || isPrivate(c) ? "chat" : "empty";
  const wasChat = !$("chat-view").hidden;
  $("empty-view").hidden = kind !== "empty";
  $("chat-view").hidden = kind !== "chat";
  $("toggle-pins").hidden = kind !== "chat";
  // Threads are a server's: DMs have none.
  $("toggle-threads").hidden = kind !== "chat" || isPrivate(c);
  if (kind !== "chat") { closePins(); closeThreadPanels(); }
  renderChannelMute();
  renderSlowmode();
  searchPlaceChanged();
  if (kind === "empty") {
    $("channel-title").textContent = state.guildId === HOME ? "Direct Messages" : guild() ? guild().name : "Welcome";
    $("channel-topic").textContent = "";
  }
  if (kind === "chat" && (!wasChat || $("message-list").dataset.channel !== c.id)) {
    $("message-list").dataset.channel = c.id;
    openChat(c.id);
  }
  renderCallArea();
}

/** The call view where the place has one (a voice channel; a DM with a call, above the chat), and a DM's call button. */
function renderCallArea() {
  const c = channel();
  const shown = !!c && callShown(session.call) && (c.type === 2 || !$("chat-view").hidden);
  $("call-view").hidden = !shown;
  if (shown) renderCall(session.call);
  renderCallButton(session.call);
}

// ---- voice ----

function callEvent(kind, detail) {
  if (kind === "error") notify(detail);
  if (kind === "ended") {
    if (detail) notify(detail, "info");
    session.call = null;
  }
  renderVoicePanel(session.call);
  renderChannels(session.call);
  renderCallArea();
  renderRinging(session.call);
}

/** Joins a guild's voice channel. */
function joinVoice(channelId) {
  const g = guild();
  if (g) startCall(g.id, channelId);
}

/** Opens a DM (or group DM) and joins its call, or starts one (which rings the others). */
function joinDmCall(channelId) {
  if (!state.dms.has(channelId)) return;
  if (state.guildId !== HOME || state.channelId !== channelId) {
    state.guildId = HOME;
    localStorage.setItem("hearth.guild", HOME);
    selectChannel(channelId, { join: false });
  }
  if (!(session.call && session.call.channelId === channelId)) startCall(null, channelId);
}

/** One call at a time: a guild's voice channel, or a DM's call (`guildId` null). */
function startCall(guildId, channelId) {
  if (!session.gateway || !state.me) return;
  if (session.call) session.call.leave();
  if (!session.gateway.connected) {
    notify("Can't join voice while disconnected from the server.", "error", { key: "disconnected" });
    return;
  }
  const call = new VoiceCall({
    gateway: session.gateway,
    guildId,
    channelId,
    userId: state.me.id,
    sessionId: session.gateway.sessionId,
    emit: (kind, detail) => { if (session.call === call || kind === "ended") callEvent(kind, detail); },
  });
  session.call = call;
  renderVoicePanel(call);
  renderChannels(call);
  renderCallArea();
  renderRinging(call);
  call.start({ camera: false });
}

// ---- dialogs and actions ----

async function createGuild() {
  const g = await dialog({
    title: "Create a server",
    ok: "Create",
    fields: [{ name: "name", label: "Server name", required: true, maxlength: 100 }],
    submit: async ({ name }) => {
      if (name.trim().length < 2) throw new Error("A server name needs at least 2 characters.");
      return api("POST", "/guilds", { name: name.trim() });
    },
  });
  if (g) selectGuild(g.id);
}

function inviteCode(text) {
  const t = text.trim();
  const m = t.match(/\/invite\/([A-Za-z0-9_-]+)\/?$/) || t.match(/^([A-Za-z0-9_-]+)$/);
  return m ? m[1] : null;
}

async function joinGuild() {
  const res = await dialog({
    title: "Join a server",
    ok: "Join",
    fields: [{ name: "invite", label: "Invite link or code", required: true }],
    submit: async ({ invite }) => {
      const code = inviteCode(invite);
      if (!code) throw new Error("That doesn't look like an invite link.");
      return api("POST", `/invites/${code}`);
    },
  });
  if (res) joined(res);
}

function joined(invite) {
  const id = invite.guild.id;
  if (state.guilds.has(id)) selectGuild(id);
  else session.pendingGuild = id;
}

async function offerInvite(code) {
  session.invite = null;
  history.replaceState(null, "", "/");
  let invite;
  try {
    invite = await api("GET", `/invites/${code}`);
  } catch (err) {
    notify(err.message);
    return;
  }
  const res = await dialog({
    title: `Join ${invite.guild.name}?`,
    ok: "Join",
    body: [h("p", {}, `You've been invited to ${invite.guild.name}${invite.inviter ? ` by ${invite.inviter.username}` : ""}.`)],
    submit: () => api("POST", `/invites/${code}`),
  });
  if (res) joined(res);
}

async function createChannel() {
  const g = guild();
  if (!g) return;
  const categories = g.channelOrder.filter((c) => c.type === 4);
  const current = channel();
  const res = await dialog({
    title: "Create a channel",
    ok: "Create",
    fields: [
      { name: "name", label: "Channel name", required: true, maxlength: 100 },
      { name: "type", label: "Type", value: "0", options: [["0", "Text"], ["2", "Voice"], ["4", "Category"]] },
      { name: "parent", label: "Category", value: current && current.parent_id ? current.parent_id : "", options: [["", "None"], ...categories.map((c) => [c.id, c.name])] },
    ],
    submit: async ({ name, type, parent }) => {
      const n = name.trim();
      if (!n) throw new Error("A channel needs a name.");
      const body = { name: type === "0" ? n.toLowerCase().replace(/\s+/g, "-") : n, type: Number(type) };
      if (parent && type !== "4") body.parent_id = parent;
      return api("POST", `/guilds/${g.id}/channels`, body);
    },
  });
  if (res) {
    apply("CHANNEL_CREATE", res);
    if (res.type === 0) selectChannel(res.id);
  }
}

async function deleteChannel(id) {
  const c = channel(id);
  if (!c || !window.confirm(`Delete ${c.type === 4 ? "category" : "channel"} ${c.name}? This cannot be undone.`)) return;
  try {
    const res = await api("DELETE", `/channels/${id}`);
    apply("CHANNEL_DELETE", res);
  } catch (err) {
    notify(`Couldn't delete ${c.name}: ${err.message}`);
  }
}

function setDrawer(open) {
  $("drawer").classList.toggle("open", open);
  $("open-drawer").setAttribute("aria-expanded", String(open));
  if (open) $("drawer").querySelector("button").focus();
}

function setMembers(show) {
  $("app").classList.toggle("no-members", !show);
  $("toggle-members").setAttribute("aria-expanded", String(show));
}

// ---- start ----

function wire() {
  setUnauthorizedHandler(() => { if (!session.revoking) signedOut("Your session has ended. Please log in again."); });
  initCommands();
  initChat();
  initPins();
  initThreads();
  initSidebar({ selectGuild, selectChannel, deleteChannel });
  initSearch({ selectGuild, selectChannel });
  initAlerts({ selectChannel, renderChannels: () => renderChannels(session.call) });
  initDmCalls({ joinCall: joinDmCall });
  initProfile();
  // Before the "guilds" handler below: it says a removal while the server is still the open one.
  initModeration();
  initBulkDelete();
  initBlocks();
  initUserSettings();
  initPushToTalk();
  initServerSettings();
  initChannelSettings();
  // A channel mention clicked in a message (markup.js) opens the channel.
  on("open-channel", (id) => { if (channel(id)) selectChannel(id); });
  $("create-guild").addEventListener("click", createGuild);
  $("join-guild").addEventListener("click", joinGuild);
  $("invite-button").addEventListener("click", createInvite);
  $("create-channel").addEventListener("click", createChannel);
  $("logout").addEventListener("click", logout);
  $("status-select").addEventListener("change", (e) => {
    session.status = e.target.value;
    localStorage.setItem("hearth.status", session.status);
    if (session.gateway) session.gateway.setStatus(session.status);
    renderMe(session.status);
  });
  $("call-join").addEventListener("click", () => { if (channel()) joinVoice(state.channelId); });
  // The voice panel's buttons and the call view's (on phones) do the same.
  const voiceActions = {
    mute: (call) => call.setMute(!call.selfMute),
    deafen: (call) => call.setDeaf(!call.selfDeaf),
    camera: (call) => call.setCamera(!call.selfVideo),
    screen: (call) => call.setScreen(!call.selfStream),
    leave: (call) => call.leave(),
  };
  for (const b of document.querySelectorAll("[data-action]")) {
    b.addEventListener("click", () => { if (session.call) voiceActions[b.dataset.action](session.call); });
  }
  $("open-drawer").addEventListener("click", () => setDrawer(!$("drawer").classList.contains("open")));
  $("toggle-members").addEventListener("click", () => {
    const show = $("app").classList.contains("no-members");
    setMembers(show);
    if (show && narrow.matches) $("members-close").focus();
  });
  // On a phone the member list covers the header's Members button: it has
  // its own ✕, and Escape closes it too.
  $("members-close").addEventListener("click", () => { setMembers(false); $("toggle-members").focus(); });
  document.addEventListener("keydown", (e) => {
    if (e.key !== "Escape") return;
    if ($("drawer").classList.contains("open")) { setDrawer(false); $("open-drawer").focus(); }
    else if (narrow.matches && !$("app").classList.contains("no-members") && $("members").contains(document.activeElement)) {
      setMembers(false);
      $("toggle-members").focus();
    }
  });
  for (const [scroller, list] of [["messages", "message-list"], ["thread-scroll", "thread-messages"]]) {
    initMessageKeys($(scroller), $(list));
    initTouchMenus($(list));
  }
  // Skip links move the focus without changing the address.
  for (const link of document.querySelectorAll("[data-skip]")) {
    link.addEventListener("click", (e) => {
      e.preventDefault();
      const to = $(link.dataset.skip);
      if (to && to.offsetParent !== null) to.focus();
    });
  }
  setMembers(!narrow.matches);
  narrow.addEventListener("change", () => { setMembers(!narrow.matches); setDrawer(false); });

  on("guilds", (detail) => {
    if (detail && detail.deleted === state.guildId) {
      state.guildId = null;
      state.channelId = null;
      const next = state.guilds.keys().next();
      if (!next.done) selectGuild(next.value);
    }
    showView();
  });
  on("channels", (detail) => {
    if (detail && detail.deleted === state.channelId) {
      const g = guild();
      selectChannel(g ? defaultChannel(g) : null, { join: false });
      // Permissions changed under the user: say why the channel went.
      if (detail.hidden !== undefined) notify(`You can no longer see #${detail.hidden}.`, "info");
    }
    renderChannels(session.call);
    // A DM learnt late names the conversation an incoming call is in.
    renderRinging(session.call);
    renderCallArea();
  });
  on("members", () => { renderMembers(); });
  // A block: the DM's call button (calls are refused too) and the views that read it.
  on("relationships", () => { renderMembers(); renderCallArea(); });
  on("open-dm", openDm);
  on("dm-unknown", learnDm);
  on("voice", () => {
    renderChannels(session.call);
    renderCallArea();
  });
  // DM calls: started, ringing, joined, left, ended.
  on("calls", () => {
    renderChannels(session.call);
    renderCallArea();
    renderRinging(session.call);
  });
  on("messages", messagesChanged);
  on("typing", (channelId) => { if (channelId === state.channelId) renderTyping(); });
  on("unread", () => { renderGuilds(); renderChannels(session.call); });
  on("me", () => renderMe(session.status));
  // The user settings (usersettings.js) ask the session for these.
  on("custom-status", () => { if (session.gateway) session.gateway.setStatus(session.status, ownActivities()); });
  on("logout", (opts) => logout(opts));
  on("session-revoking", (yes) => { session.revoking = yes; });
  on("session-token", (token) => {
    // The old token is revoked, and the gateway and a call opened with it
    // end: start again with the new one.
    if (session.call) session.call.leave();
    if (session.gateway) session.gateway.stop();
    signedIn(token);
  });
  on("request-members", (id) => { if (session.gateway) session.gateway.requestMembers(id); });
  window.addEventListener("beforeunload", () => { if (session.call) session.call.leave(); });

  // For the browser tests, and for anyone curious in the console: what
  // the call receives, per remote user, and sends, per camera layer, from
  // RTCPeerConnection.getStats().
  window.hearthDebug = {
    inboundStats: () => (session.call ? session.call.inboundStats() : Promise.resolve({})),
    outboundStats: () => (session.call ? session.call.outboundStats() : Promise.resolve({})),
    me: () => state.me,
    calls: () => [...state.calls.values()].map((c) => ({ ...c, voice: [...c.voice.keys()] })),
    alerts: () => alertsShown.slice(),
    marks: () => ({ mentions: Object.fromEntries(state.mentions), unread: [...state.unread], lastRead: { ...state.lastRead } }),
    lastServerOffer: () => (session.call ? session.call.lastOffer : null),
    /** The screen being shared (a MediaStream, empty when not sharing). */
    screenStream: () => (session.call ? session.call.screenShare.stream : null),
    voiceTrace: () => (session.call ? session.call.trace : []),
    counters: () => ({ ...counters, voiceResumed: session.call ? session.call.resumes : 0, voiceRejoined: session.call ? session.call.rejoins : 0 }),
  };
}

/** Before signing in: where the invite leads, or that it leads nowhere (10006: unknown invite). */
function checkInvite(code) {
  api("GET", `/invites/${code}`).then((i) => {
    if (!$("auth-view").hidden) inviteNote(`You've been invited to ${i.guild.name}. Create an account or log in to join.`);
  }, (err) => {
    if ($("auth-view").hidden) return;
    if (err.status === 404 || err.code === 10006) {
      // Nothing to offer once signed in either.
      session.invite = null;
      history.replaceState(null, "", "/");
      inviteNote("This invite is invalid or has expired. You can still create an account or log in.", true);
    } else {
      inviteNote("You've been invited to a server. Create an account or log in to join.");
    }
  });
}

function start() {
  wire();
  const m = location.pathname.match(/^\/invite\/([A-Za-z0-9_-]+)/);
  if (m) session.invite = m[1];
  if (session.token) {
    signedIn(session.token);
  } else {
    if (session.invite) checkInvite(session.invite);
    showAuth({ onToken: signedIn, invite: session.invite ? "Checking your invite…" : null });
  }
}

start();
