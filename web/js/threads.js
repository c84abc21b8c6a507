// Threads: starting one from a message (its "Thread" action), the thread
// panel beside the chat (the thread's messages, live, and a composer of its
// own), the link under a message that started a thread, and the header's
// list of the open channel's active and archived threads.
//
// A thread's messages use the ordinary channel routes and dispatches with
// the thread's id, so they share the message cache with channels
// (state.messages); what the client knows of each thread is its server's
// `threads` map (state.js).

import { api } from "./api.js";
import { renderAttachments } from "./attachments.js";
import { renderReactions } from "./commands.js";
import { $, avatar, dialog, fill, h, notify } from "./dom.js";
import { formatTime, plainContent, renderContent, renderEmbed } from "./markup.js";
import { closePins } from "./pins.js";
import { closeSearch } from "./search.js";
import { PERM, apply, cachePage, can, channel, displayName, guild, idCmp, learnThread, on, state, thread, typingIn } from "./state.js";

const PAGE = 50;
/** The message flag of a thread's starter message. */
const HAS_THREAD = 32;
const EPHEMERAL = 64;

const panel = () => $("thread-panel");
const listPanel = () => $("threads-panel");
/** What had the focus when the thread panel opened: it gets it back. */
let opener = null;
let lastTypingSent = 0;

const countText = (n) => `${n} message${n === 1 ? "" : "s"}`;

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
  return h("li.message.thread-message", { dataset: { id: m.id, author: m.author.id } }, [
    avatar(name),
    h("div.message-head", {},
      h("span.author", {}, name),
      h("time.time", { datetime: m.timestamp }, formatTime(m.timestamp)),
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
  return h("li.thread-starter", {},
    h("span.hint", {}, "Started from "),
    h("span.author", {}, displayName(m.guild_id, m.author.id)),
    h("span.hint", {}, ": "),
    h("span", {}, plainContent(m)));
}

function renderHead(t) {
  $("thread-title").textContent = t.name;
  const meta = t.thread_metadata || {};
  $("thread-status").textContent = meta.locked
    ? "This thread is locked: only moderators can post in it."
    : meta.archived ? "This thread is archived. Sending a message reopens it." : "";
  $("thread-status").hidden = !meta.locked && !meta.archived;
  $("thread-input").placeholder = `Message ${t.name}`;
}

function renderMessages() {
  const id = state.threadId;
  const entry = id && state.messages.get(id);
  if (!entry || panel().hidden) return;
  const stick = nearBottom();
  const t = thread(id);
  const items = entry.list.map(messageItem);
  fill($("thread-messages"), t ? starterItem(t) : null,
    items.length ? items : h("li.pins-empty", {}, "No messages yet. Say something to get it going."));
  if (stick) $("thread-scroll").scrollTop = $("thread-scroll").scrollHeight;
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
  }
  opener = from;
  state.threadId = id;
  panel().hidden = false;
  renderHead(t);
  renderThreadTyping();
  fill($("thread-messages"));
  $("thread-input").focus();
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
  } catch (err) {
    if (!input.value) input.value = content;
    notify(`Your message was not sent: ${err.message}`);
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

function threadItem(t) {
  const about = [countText(t.message_count || 0), ...flags(t)].join(" · ");
  return h("li.pin.thread-item", { dataset: { thread: t.id } },
    h("button.thread-open", { type: "button", onclick: () => openThread(t.id, $("toggle-threads")) },
      h("span.thread-link-name", {}, t.name), " ", h("span.thread-link-count", {}, about)));
}

function renderList() {
  const g = guild();
  const c = channel();
  if (!g || !c || listPanel().hidden) return;
  const here = [...g.threads.values()].filter((t) => t.parent_id === c.id).sort(byActivity);
  const active = here.filter((t) => !(t.thread_metadata && t.thread_metadata.archived));
  const archived = here.filter((t) => t.thread_metadata && t.thread_metadata.archived);
  fill($("threads-active"), active.length ? active.map(threadItem) : h("li.pins-empty", {}, "No active threads. Start one from a message's Thread action."));
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

/** What the server has now: GUILD_CREATE brought only the unarchived threads. */
async function loadThreadList() {
  const g = guild();
  const c = channel();
  if (!g || !c) return;
  try {
    const [active, archived] = await Promise.all([
      api("GET", `/guilds/${g.id}/threads/active`),
      api("GET", `/channels/${c.id}/threads/archived/public`),
    ]);
    for (const t of [...active.threads, ...archived.threads]) learnThread(t);
  } catch (err) {
    notify(`Couldn't load the threads: ${err.message}`);
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
  panel().addEventListener("keydown", (e) => { if (e.key === "Escape") dismissThread(); });
  $("toggle-threads").addEventListener("click", () => (listPanel().hidden ? openThreadList() : closeThreadList()));
  $("threads-close").addEventListener("click", () => { closeThreadList(); $("toggle-threads").focus(); });
  listPanel().addEventListener("keydown", (e) => { if (e.key === "Escape") { closeThreadList(); $("toggle-threads").focus(); } });
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
}
