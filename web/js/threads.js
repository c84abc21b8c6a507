// Threads: starting one from a message (its "Thread" action) or on its own
// (the list's "New thread", public or private), the thread panel beside the
// chat (the thread's messages, live, a composer of its own, and joining,
// leaving, adding members, archiving and locking), the link under a message
// that started a thread, and the header's list of the open channel's active
// and archived threads.
//
// A thread's messages use the ordinary channel routes and dispatches with
// the thread's id, so they share the message cache with channels
// (state.messages); what the client knows of each thread is its server's
// `threads` map (state.js). Whether the user is a member (`joined`) comes
// from THREAD_MEMBERS_UPDATE and, since GUILD_CREATE does not say, from
// asking the server when the panel opens. Messages from people the user
// blocks are collapsed behind a line, as in the chat (blocks.js).

import { api } from "./api.js";
import { renderAttachments } from "./attachments.js";
import { blockedLine, blockedRuns } from "./blocks.js";
import { renderReactions } from "./commands.js";
import { $, avatar, clearNotices, dialog, fill, h, icon, notify } from "./dom.js";
import { formatTime, timeTitle, plainContent, renderContent, renderEmbed } from "./markup.js";
import { closePins } from "./pins.js";
import { authorName } from "./profile.js";
import { closeSearch } from "./search.js";
import { PERM, apply, cachePage, can, channel, displayName, fromBlocked, guild, idCmp, learnThread, on, state, thread, typingIn } from "./state.js";

const PAGE = 50;
/** The message flag of a thread's starter message. */
const HAS_THREAD = 32;
const EPHEMERAL = 64;

const panel = () => $("thread-panel");
const listPanel = () => $("threads-panel");
/** What had the focus when the thread panel opened: it gets it back. */
let opener = null;
let lastTypingSent = 0;
/** Messages from blocked people the user chose to see in the open thread. */
const shownBlocked = new Set();

const countText = (n) => `${n} message${n === 1 ? "" : "s"}`;
const PRIVATE_THREAD = 12;
/** MANAGE_THREADS: archive, lock, and see every private thread. */
const moderates = (t) => can(PERM.MANAGE_THREADS, state.guilds.get(t.guild_id));
const owns = (t) => !!state.me && t.owner_id === state.me.id;

/** What a thread's state adds to its name in lists: "archived", "locked". */
function flags(t) {
  const meta = t.thread_metadata || {};
  return [t.type === 12 ? "private" : "", meta.archived ? "archived" : "", meta.locked ? "locked" : ""].filter(Boolean);
}

// ---- starting a thread ----

/** Whether the message's actions offer "Thread": a server's text channel, no thread yet (the server has the last word). */
export function mayStartThread(m) {
  const c = channel(m.channel_id);
  return !!c && c.type === 0 && !(m.flags & (HAS_THREAD | EPHEMERAL)) && !thread(m.id) && can(PERM.CREATE_PUBLIC_THREADS);
}

/** A thread's name from its starter message: its text on one line, at most 100 characters. */
function nameFrom(m) {
  const text = plainContent(m).replace(/\s+/g, " ").trim();
  // Characters as the server counts them (code points), not UTF-16 units.
  return [...text].slice(0, 100).join("").trim() || "New thread";
}

export async function startThread(m) {
  const t = await dialog({
    title: "Create Thread",
    ok: "Create",
    fields: [{ name: "name", label: "Thread name", value: nameFrom(m), required: true, maxlength: 100 }],
    submit: async ({ name }) => {
      const n = name.trim();
      if (!n) throw new Error("A thread needs a name.");
      return api("POST", `/channels/${m.channel_id}/messages/${m.id}/threads`, { name: n });
    },
  });
  if (!t) return;
  // THREAD_CREATE follows on the gateway; this tab knows it now.
  apply("THREAD_CREATE", t);
  openThread(t.id);
}

// ---- the link under a starter message ----

/** Under a message that started a thread: the thread's name and count, opening it. */
export function threadLink(m) {
  const t = thread(m.id);
  if (!t && !(m.flags & HAS_THREAD)) return null;
  const about = t ? [countText(t.message_count || 0), ...flags(t)].join(" · ") : "";
  return h("div.thread-ref", {},
    h("button.thread-link", { type: "button", dataset: { thread: m.id }, onclick: (e) => openThread(m.id, e.currentTarget) },
      h("span.visually-hidden", {}, "Thread: "),
      h("span.thread-link-name", {}, t ? t.name : "Open the thread"),
      about ? " " : null,
      about ? h("span.thread-link-count", {}, about) : null));
}

// ---- the thread panel ----

function nearBottom() {
  const s = $("thread-scroll");
  return s.scrollHeight - s.scrollTop - s.clientHeight < 80;
}

function messageItem(m) {
  const name = m.webhook_id && !m.application_id ? m.author.username : displayName(m.guild_id, m.author.id);
  const blocked = fromBlocked(m);
  return h(`li.message.thread-message${blocked ? ".blocked" : ""}`, {
    id: `thread-msg-${m.id}`, dataset: { id: m.id, author: m.author.id }, hidden: blocked && !shownBlocked.has(m.id),
  }, [
    avatar(name),
    h("div.message-head", {},
      authorName(m, name),
      h("time.time", { datetime: m.timestamp, title: timeTitle(m.timestamp) }, formatTime(m.timestamp)),
      m.edited_timestamp ? h("span.edited", { title: formatTime(m.edited_timestamp) }, "(edited)") : null),
    h("div.content", {}, renderContent(m)),
    renderAttachments(m),
    ...((m.flags & 4) ? [] : (m.embeds || []).map(renderEmbed)),
    renderReactions(m),
  ].filter(Boolean));
}

/** The message the thread started from, if its channel's history is loaded. */
function starterItem(t) {
  const entry = t.parent_id && state.messages.get(t.parent_id);
  const m = entry && entry.list.find((x) => x.id === t.id);
  if (!m) return null;
  if (fromBlocked(m)) return h("li.thread-starter", {}, h("span.hint", {}, "Started from a blocked message"));
  return h("li.thread-starter", {},
    h("span.hint", {}, "Started from "),
    h("span.author", {}, displayName(m.guild_id, m.author.id)),
    h("span.hint", {}, ": "),
    h("span", {}, plainContent(m)));
}

function renderHead(t) {
  $("thread-kind").textContent = t.type === PRIVATE_THREAD ? "Private thread" : "Thread";
  $("thread-title").textContent = t.name;
  const meta = t.thread_metadata || {};
  $("thread-status").textContent = meta.locked
    ? "This thread is locked: only moderators can post in it."
    : meta.archived ? "This thread is archived. Sending a message reopens it." : "";
  $("thread-status").hidden = !meta.locked && !meta.archived;
  $("thread-input").placeholder = `Message ${t.name}`;
  renderActions(t);
}

/**
 * The header's actions, as far as the server would allow them: Join or
 * Leave once membership is known, Add member in a private thread, Archive
 * for its owner and moderators, Lock for moderators. An archived thread
 * changes only by being unarchived, so the rest wait until then.
 */
function renderActions(t) {
  const meta = t.thread_metadata || {};
  const n = t.member_count || 0;
  $("thread-members").textContent = n ? `${n} member${n === 1 ? "" : "s"}` : "";
  const join = $("thread-join");
  join.hidden = t.joined === undefined || !!meta.archived;
  join.textContent = t.joined ? "Leave" : "Join";
  join.title = t.joined ? "Leave this thread" : "Join this thread";
  $("thread-add").hidden = t.type !== PRIVATE_THREAD || !!meta.archived || !(t.joined || moderates(t))
    || (meta.invitable === false && !moderates(t));
  const archive = $("thread-archive");
  archive.hidden = !(owns(t) || moderates(t));
  archive.textContent = meta.archived ? "Unarchive" : "Archive";
  const lock = $("thread-lock");
  lock.hidden = !moderates(t) || !!meta.archived;
  lock.textContent = meta.locked ? "Unlock" : "Lock";
}

/** Whether the user is in the thread: the server answers 200 or 10007. */
async function loadMembership(id) {
  let joined;
  try {
    await api("GET", `/channels/${id}/thread-members/@me`);
    joined = true;
  } catch (err) {
    if (err.code !== 10007) return;
    joined = false;
  }
  const t = thread(id);
  if (!t) return;
  t.joined = joined;
  if (state.threadId === id) renderActions(t);
}

async function toggleJoin() {
  const id = state.threadId;
  const t = id && thread(id);
  if (!t || t.joined === undefined) return;
  const leaving = t.joined;
  try {
    await api(leaving ? "DELETE" : "PUT", `/channels/${id}/thread-members/@me`);
  } catch (err) {
    notify(`Couldn't ${leaving ? "leave" : "join"} the thread: ${err.message}`);
    return;
  }
  // THREAD_MEMBERS_UPDATE follows; this tab knows now (unless it came first).
  const now = thread(id);
  if (!now || now.joined !== leaving) return;
  const me = state.me.id;
  apply("THREAD_MEMBERS_UPDATE", {
    id, guild_id: now.guild_id, member_count: Math.max(0, (now.member_count || 0) + (leaving ? -1 : 1)),
    ...(leaving ? { removed_member_ids: [me] } : { added_members: [{ id, user_id: me, flags: 0 }] }),
  });
}

/** Add member: a member of the server, not yet in the thread, by name. */
async function addMember() {
  const id = state.threadId;
  const t = id && thread(id);
  const g = t && state.guilds.get(t.guild_id);
  if (!g) return;
  let inThread = new Set();
  try {
    inThread = new Set((await api("GET", `/channels/${id}/thread-members?limit=100`)).map((m) => m.user_id));
  } catch {
    // Offer everyone: the server has the last word.
  }
  const choices = [...g.members.values()]
    .filter((m) => !inThread.has(m.user.id) && m.user.id !== state.me.id)
    .map((m) => {
      const name = displayName(g.id, m.user.id);
      return [m.user.id, name === m.user.username ? name : `${name} (${m.user.username})`];
    })
    .sort((a, b) => a[1].localeCompare(b[1]));
  if (!choices.length) {
    notify("Everyone in the server is in this thread already.", "info");
    return;
  }
  const added = await dialog({
    title: `Add a member to ${t.name}`,
    ok: "Add",
    body: [h("p.hint", {}, "They will see this private thread and its messages.")],
    fields: [{ name: "user", label: "Member", options: choices }],
    submit: async ({ user }) => {
      await api("PUT", `/channels/${id}/thread-members/${user}`);
      return user;
    },
  });
  if (added) notify(`${displayName(g.id, added)} is in the thread now.`, "info");
}

/** Archive or lock (or undo either): the server answers with the thread. */
async function editThread(change, what) {
  const id = state.threadId;
  if (!id) return;
  try {
    apply("THREAD_UPDATE", await api("PATCH", `/channels/${id}`, change));
  } catch (err) {
    notify(`Couldn't ${what} the thread: ${err.message}`);
  }
}

function toggleArchive() {
  const t = state.threadId && thread(state.threadId);
  if (!t) return;
  const archived = !!(t.thread_metadata && t.thread_metadata.archived);
  editThread({ archived: !archived }, archived ? "unarchive" : "archive");
}

function toggleLock() {
  const t = state.threadId && thread(state.threadId);
  if (!t) return;
  const locked = !!(t.thread_metadata && t.thread_metadata.locked);
  editThread({ locked: !locked }, locked ? "unlock" : "lock");
}

function renderMessages() {
  const id = state.threadId;
  const entry = id && state.messages.get(id);
  if (!entry || panel().hidden) return;
  const stick = nearBottom();
  const t = thread(id);
  const items = blockedRuns(entry.list).map((part) => (part.blocked
    ? [blockedLine(part.blocked, part.blocked.every((m) => shownBlocked.has(m.id)), () => toggleBlocked(part.blocked), (m) => `thread-msg-${m.id}`),
      part.blocked.map(messageItem)]
    : messageItem(part.message)));
  fill($("thread-messages"), t ? starterItem(t) : null,
    items.length ? items : h("li.pins-empty", {}, "No messages yet. Say something to get it going."));
  if (stick) $("thread-scroll").scrollTop = $("thread-scroll").scrollHeight;
}

/** Shows a run of blocked messages in the thread, or hides it again. */
function toggleBlocked(run) {
  const shown = run.every((m) => shownBlocked.has(m.id));
  for (const m of run) {
    if (shown) shownBlocked.delete(m.id);
    else shownBlocked.add(m.id);
  }
  renderMessages();
  const line = $(`blocked-${run[0].id}`);
  if (line) line.focus();
}

function renderThreadTyping() {
  const id = state.threadId;
  const t = id && thread(id);
  const who = id ? typingIn(id).map((u) => displayName(t && t.guild_id, u)) : [];
  $("thread-typing").textContent = who.length === 0 ? ""
    : who.length === 1 ? `${who[0]} is typing…` : `${who.length} people are typing…`;
}

/** The thread's newest page, unless the cache has it (the gateway keeps it current). */
async function loadMessages(id) {
  if (!state.messages.has(id)) {
    try {
      const page = await api("GET", `/channels/${id}/messages?limit=${PAGE}`);
      if (state.threadId !== id) return;
      cachePage(id, page, page.length < PAGE);
    } catch (err) {
      fill($("thread-messages"), h("li.pins-empty", {}, `Couldn't load the thread: ${err.message}`));
      return;
    }
  }
  renderMessages();
  $("thread-scroll").scrollTop = $("thread-scroll").scrollHeight;
}

/** Opens a thread in the panel (fetching it first if the client does not know it). */
export async function openThread(id, from = document.activeElement) {
  let t = thread(id);
  if (!t) {
    try {
      t = await api("GET", `/channels/${id}`);
    } catch (err) {
      notify(`Couldn't open the thread: ${err.message}`);
      return;
    }
    learnThread(t);
  }
  closePins();
  closeSearch();
  closeThreadList();
  if (state.threadId !== id) {
    $("thread-input").value = "";
    lastTypingSent = 0;
    shownBlocked.clear();
  }
  opener = from;
  state.threadId = id;
  panel().hidden = false;
  renderHead(t);
  renderThreadTyping();
  fill($("thread-messages"));
  $("thread-input").focus();
  loadMembership(id);
  await loadMessages(id);
}

export function closeThread() {
  panel().hidden = true;
  state.threadId = null;
}

/** Closed by the user: the focus goes back where it came from. */
function dismissThread() {
  closeThread();
  const back = opener && opener.isConnected && opener.offsetParent !== null ? opener : $("composer-input");
  opener = null;
  back.focus();
}

async function send() {
  const input = $("thread-input");
  const id = state.threadId;
  const content = input.value.trim();
  if (!content || !id) return;
  input.value = "";
  lastTypingSent = 0;
  try {
    // An archived thread is reopened by the server; THREAD_UPDATE says so.
    const m = await api("POST", `/channels/${id}/messages`, { content, nonce: String(Date.now()) });
    apply("MESSAGE_CREATE", m);
    $("thread-scroll").scrollTop = $("thread-scroll").scrollHeight;
    clearNotices(`send-${id}`);
  } catch (err) {
    if (!input.value) input.value = content;
    notify(`Your message was not sent: ${err.message}`, "error", { key: `send-${id}` });
  }
}

function typed() {
  const now = Date.now();
  if (!state.threadId || now - lastTypingSent < 8000 || !$("thread-input").value.trim()) return;
  lastTypingSent = now;
  api("POST", `/channels/${state.threadId}/typing`).catch(() => {});
}

// ---- the channel's threads ----

/** Newest activity first. */
const byActivity = (a, b) => idCmp(b.last_message_id || b.id, a.last_message_id || a.id);

function lockIcon() {
  const svg = icon("lock");
  svg.classList.add("thread-lock");
  return svg;
}

function threadItem(t) {
  const about = [countText(t.message_count || 0), ...flags(t)].join(" · ");
  return h("li.pin.thread-item", { dataset: { thread: t.id } },
    h("button.thread-open", { type: "button", onclick: () => openThread(t.id, $("toggle-threads")) },
      t.type === PRIVATE_THREAD ? lockIcon() : null,
      h("span.thread-link-name", {}, t.name), " ", h("span.thread-link-count", {}, about)));
}

function renderList() {
  const g = guild();
  const c = channel();
  if (!g || !c || listPanel().hidden) return;
  const here = [...g.threads.values()].filter((t) => t.parent_id === c.id).sort(byActivity);
  const active = here.filter((t) => !(t.thread_metadata && t.thread_metadata.archived));
  const archived = here.filter((t) => t.thread_metadata && t.thread_metadata.archived);
  $("threads-new").hidden = !can(PERM.CREATE_PUBLIC_THREADS, g) && !can(PERM.CREATE_PRIVATE_THREADS, g);
  fill($("threads-active"), active.length ? active.map(threadItem) : h("li.pins-empty", {}, "No active threads. Start one with New thread, or from a message's Thread action."));
  fill($("threads-archived"), archived.length ? archived.map(threadItem) : h("li.pins-empty", {}, "No archived threads."));
}

function openThreadList() {
  closePins();
  closeSearch();
  closeThread();
  listPanel().hidden = false;
  $("toggle-threads").setAttribute("aria-expanded", "true");
  renderList();
  $("threads-close").focus();
  loadThreadList();
}

/** New thread: one of its own in the open channel, public unless ticked private. */
async function newThread() {
  const c = channel();
  if (!c || c.type !== 0) return;
  const t = await dialog({
    title: `New thread in #${c.name}`,
    ok: "Create",
    body: [h("p.hint", {}, "A private thread is seen only by the people in it, and by moderators.")],
    fields: [
      { name: "name", label: "Thread name", required: true, maxlength: 100 },
      { name: "private", label: "Private thread", type: "checkbox", value: false },
    ],
    submit: async (values) => {
      const name = values.name.trim();
      if (!name) throw new Error("A thread needs a name.");
      return api("POST", `/channels/${c.id}/threads`, { name, type: values.private ? PRIVATE_THREAD : 11 });
    },
  });
  if (!t) return;
  // THREAD_CREATE follows on the gateway; this tab knows it now, and that
  // its maker is its first member.
  apply("THREAD_CREATE", t);
  const known = thread(t.id);
  if (known) known.joined = true;
  openThread(t.id, $("toggle-threads"));
}

/** What the server has now: GUILD_CREATE brought only the unarchived threads. */
async function loadThreadList() {
  const g = guild();
  const c = channel();
  if (!g || !c) return;
  listPanel().setAttribute("aria-busy", "true");
  try {
    const [active, archived] = await Promise.all([
      api("GET", `/guilds/${g.id}/threads/active`),
      api("GET", `/channels/${c.id}/threads/archived/public`),
    ]);
    // The lists carry the user's own memberships of their threads.
    const mine = new Set([...active.members, ...archived.members].map((m) => m.id));
    for (const t of [...active.threads, ...archived.threads]) learnThread({ ...t, joined: mine.has(t.id) });
  } catch (err) {
    notify(`Couldn't load the threads: ${err.message}`);
  } finally {
    listPanel().removeAttribute("aria-busy");
  }
  renderList();
}

export function closeThreadList() {
  listPanel().hidden = true;
  $("toggle-threads").setAttribute("aria-expanded", "false");
}

/** Both panels, for another panel (or view) taking their place. */
export function closeThreadPanels() {
  closeThread();
  closeThreadList();
}

/** The open channel changed: a thread of another channel closes, the list follows. */
export function threadsChannelChanged() {
  const t = state.threadId && thread(state.threadId);
  if (t && t.parent_id !== state.channelId) closeThread();
  const c = channel();
  if (!c || c.type !== 0) closeThreadList();
  else if (!listPanel().hidden) { renderList(); loadThreadList(); }
}

/** A new gateway session: the message cache was emptied, so the open thread reloads. */
export function threadsReconnected() {
  if (state.threadId) loadMessages(state.threadId);
}

export function initThreads() {
  const input = $("thread-input");
  $("thread-composer").addEventListener("submit", (e) => { e.preventDefault(); send(); });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(); }
  });
  input.addEventListener("input", () => {
    input.style.height = "auto";
    input.style.height = `${Math.min(input.scrollHeight, 160)}px`;
    typed();
  });
  $("thread-close").addEventListener("click", dismissThread);
  $("thread-join").addEventListener("click", toggleJoin);
  $("thread-add").addEventListener("click", addMember);
  $("thread-archive").addEventListener("click", toggleArchive);
  $("thread-lock").addEventListener("click", toggleLock);
  $("threads-new").addEventListener("click", newThread);
  panel().addEventListener("keydown", (e) => { if (e.key === "Escape") dismissThread(); });
  $("toggle-threads").addEventListener("click", () => (listPanel().hidden ? openThreadList() : closeThreadList()));
  $("threads-close").addEventListener("click", () => { closeThreadList(); $("toggle-threads").focus(); });
  listPanel().addEventListener("keydown", (e) => { if (e.key === "Escape") { closeThreadList(); $("toggle-threads").focus(); } });
  // Out of a private thread (left, or removed): it is gone from this client.
  on("thread-hidden", (t) => {
    if (t.id !== state.threadId) return;
    if (panel().contains(document.activeElement)) dismissThread();
    else closeThread();
    notify(`You are no longer in the private thread ${t.name}.`, "info");
  });
  on("threads", (id) => {
    if (id === state.threadId) {
      const t = thread(id);
      if (t) renderHead(t);
      else { closeThread(); notify("The thread was deleted.", "info"); }
    }
    renderList();
  });
  on("messages", (evt) => {
    if (evt.channelId === state.threadId) { renderMessages(); renderThreadTyping(); }
  });
  on("typing", (id) => { if (id === state.threadId) renderThreadTyping(); });
  on("relationships", () => { if (state.threadId) { renderMessages(); renderThreadTyping(); } });
}
