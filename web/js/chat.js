// A text channel: history with scroll-back, sending (with files, through
// uploads.js), replies, editing and deleting one's own messages, the typing
// indicator and the unread divider; messages from people the user blocks
// collapsed, and a DM with one of them says so in place of the composer.
// (Threads open beside it: threads.js.)

import { api } from "./api.js";
import { renderAttachments } from "./attachments.js";
import { $, avatar, clearNotices, fill, h, notify } from "./dom.js";
import { callText, formatTime, mentionsMe, plainContent, renderContent, renderEmbed } from "./markup.js";
import { addPending, apply, cachePage, channel, channelLabel, displayName, dmRecipient, emit, fromBlocked, idCmp, isBlocked, on, pendingIn, saveLastRead, setPendingFailed, state, typingIn, dropPending } from "./state.js";
import { blockedLine, blockedRuns, unblockUser } from "./blocks.js";
import { commandPicked, reactionPicker, renderComponents, renderReactions, runPicked } from "./commands.js";
import { mayPin, pinNotice, pinsChannelChanged, setPinned } from "./pins.js";
import { mayStartThread, startThread, threadLink, threadsChannelChanged } from "./threads.js";
import { authorName } from "./profile.js";
import { giveBack, hasFiles, initUploads, sendWithFiles, sent, takeFiles, uploadsChannelChanged } from "./uploads.js";
import { checkLength, composerChanged, initComposer, outgoingText } from "./composer.js";
import { fullDate } from "./markdown.js";
import { bulkChannelChanged, mayManageMessages, maySelect, selectBox, startSelecting } from "./bulkdelete.js";
import { renderTimeout, timeoutReason } from "./moderation.js";
import { disabledWith } from "./permissions.js";

const PAGE = 50;
let replyTo = null;
let editing = null;
let loadingOlder = false;
let lastTypingSent = 0;
/** The channel's last-read id when it was opened: where "New messages" goes. */
let dividerAfter = null;
/** Messages from blocked people the user chose to see, in the open channel. */
const shownBlocked = new Set();

const list = () => $("message-list");
const scroller = () => $("messages");

function nearBottom() {
  const s = scroller();
  return s.scrollHeight - s.scrollTop - s.clientHeight < 80;
}

function scrollToBottom() {
  const s = scroller();
  s.scrollTop = s.scrollHeight;
}

function findMessage(id) {
  const entry = state.messages.get(state.channelId);
  return entry && entry.list.find((m) => m.id === id);
}

function referenced(m) {
  // The cached copy first: it carries later edits.
  const ref = m.message_reference;
  return (ref && findMessage(ref.message_id)) || m.referenced_message || null;
}

/** A DM call's message (type 3): a line of history, not a message to act on. */
function callNotice(m) {
  const missed = !!(m.call && m.call.ended_timestamp) && !!state.me && !(m.call.participants || []).includes(state.me.id);
  return h(`li.message.system-message.call-message${missed ? ".missed" : ""}`, {
    id: `msg-${m.id}`,
    dataset: { id: m.id, author: m.author.id, ended: String(!!(m.call && m.call.ended_timestamp)) },
  },
  h("span.system-icon", { "aria-hidden": "true" }, "📞"),
  h("span.call-text", {}, callText(m)),
  timeNode(m.timestamp));
}

/** A message's time, its full date and time in the title. */
const timeNode = (iso, cls = "") => h(`time.time${cls}`, { datetime: iso, title: fullDate(new Date(iso)) }, formatTime(iso));

/** Grouping: messages this close together, by the same author, share one header. */
const GROUP_MS = 7 * 60 * 1000;
const dayOf = (iso) => new Date(iso).toDateString();

/** The message before `m` in the open channel, unless a divider or a date separator stands between. */
function prevOf(m) {
  const node = $(`msg-${m.id}`);
  const before = node && node.previousElementSibling;
  if (before && !before.classList.contains("message")) return null;
  const entry = state.messages.get(state.channelId);
  const i = entry ? entry.list.findIndex((x) => x.id === m.id) : -1;
  return i > 0 ? entry.list[i - 1] : null;
}

/**
 * Whether `m` continues `prev`'s group: the same author (the same
 * webhook name), within 7 minutes, the same day, neither a reply nor an
 * application's answer, nor a notice.
 */
function continues(prev, m) {
  if (!prev || !m || (m.type || 0) !== 0 || ![0, 19].includes(prev.type || 0)) return false;
  if (m.message_reference || m.interaction || (m.flags & 64) || (prev.flags & 64)) return false;
  if (prev.author.id !== m.author.id || (prev.webhook_id || "") !== (m.webhook_id || "")) return false;
  if (m.webhook_id && prev.author.username !== m.author.username) return false;
  const gap = Date.parse(m.timestamp) - Date.parse(prev.timestamp);
  return gap >= 0 && gap < GROUP_MS && dayOf(prev.timestamp) === dayOf(m.timestamp);
}

/** "December 7, 2026" between the days of the history. */
function dateSeparator(iso) {
  const label = new Date(iso).toLocaleDateString(undefined, { month: "long", day: "numeric", year: "numeric" });
  // A list holds list items only: the separator is inside its item.
  return h("li.date-separator", {}, h("div.rule", { role: "separator", "aria-label": label }, h("span", { "aria-hidden": "true" }, label)));
}

/** Jumps to a reply's original (loading older history until it is there). */
async function jumpToOriginal(id) {
  if (!(await revealMessage(state.channelId, id))) notify("Couldn't find the original message in the channel's history.", "info");
}

function messageNode(m, prev = prevOf(m)) {
  if (m.type === 6) return pinNotice(m);
  if (m.type === 3) return callNotice(m);
  const mine = state.me && m.author.id === state.me.id;
  // A webhook names itself; an application's answers are its bot's.
  const name = m.webhook_id && !m.application_id ? m.author.username : displayName(m.guild_id, m.author.id);
  const blocked = fromBlocked(m);
  const node = h(`li.message${mentionsMe(m) && !blocked ? ".mentioned" : ""}${blocked ? ".blocked" : ""}`, {
    id: `msg-${m.id}`,
    dataset: { id: m.id, author: m.author.id },
  });
  // Behind its "blocked message" line until the user shows it.
  if (blocked) node.hidden = !shownBlocked.has(m.id);
  // While messages are being selected for a bulk delete, each has its box.
  const box = selectBox(m);
  if (box) node.append(box);
  if (m.interaction) {
    const who = m.interaction.user ? displayName(m.guild_id, m.interaction.user.id) : "Someone";
    node.append(h("div.reply-ref.interaction-ref", {}, m.interaction.name ? `⚡ ${who} used /${m.interaction.name}` : `⚡ ${who} used an app`));
  }
  if (m.type === 19 || m.message_reference) {
    const ref = referenced(m);
    // The quote of a message still there jumps to it (click, Enter or Space).
    const jumpable = ref && !fromBlocked(ref) && m.message_reference && m.message_reference.message_id;
    node.append(h(`div.reply-ref${jumpable ? ".jumpable" : ""}`, jumpable ? {
      role: "button", tabindex: "0", title: "Jump to the original message",
      onclick: () => jumpToOriginal(ref.id),
      onkeydown: (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); jumpToOriginal(ref.id); } },
    } : {},
    !ref ? "↪ Original message was deleted"
      : fromBlocked(ref) ? "↪ Blocked message"
        : `↪ ${displayName(m.guild_id, ref.author.id)}: ${plainContent(ref)}`));
  }
  // A continuation row: no avatar or name again, its time shown on hover
  // (the name stays for screen readers).
  const grouped = continues(prev, m);
  if (grouped) node.classList.add("continuation");
  // Element.append writes null as text: leave the absent parts out.
  node.append(...[
    grouped ? timeNode(m.timestamp, ".gutter-time") : avatar(name),
    grouped ? h("span.visually-hidden", {}, `${name}: `) : h("div.message-head", {},
      authorName(m, name),
      timeNode(m.timestamp),
      m.edited_timestamp ? h("span.edited", { title: fullDate(new Date(m.edited_timestamp)) }, "(edited)") : null),
    h("div.content", {}, renderContent(m), grouped && m.edited_timestamp ? h("span.edited", { title: fullDate(new Date(m.edited_timestamp)) }, " (edited)") : null),
    renderAttachments(m),
    ...((m.flags & 4) ? [] : (m.embeds || []).map(renderEmbed)),
    renderComponents(m),
    renderReactions(m),
    threadLink(m),
    (m.flags & 64) ? h("div.ephemeral-note", {}, "Only you can see this") : null,
    h("div.message-actions", { role: "group", "aria-label": "Message actions" },
      // A timed-out member may not react (the server refuses): said, not hidden.
      (m.flags & 64) ? null : disabledWith(h("button.small", { type: "button", "aria-label": "Add a reaction", onclick: (e) => reactionPicker(m, e.currentTarget.parentElement) }, "React"), timeoutReason(m.guild_id || (channel(m.channel_id) || {}).guild_id)),
      h("button.small", { type: "button", "aria-label": `Reply to ${name}`, onclick: () => startReply(m) }, "Reply"),
      !(m.flags & 64) && mayPin() ? h("button.small", { type: "button", "aria-label": m.pinned ? "Unpin message" : "Pin message", onclick: () => setPinned(m, !m.pinned) }, m.pinned ? "Unpin" : "Pin") : null,
      mayStartThread(m) ? h("button.small", { type: "button", "aria-label": "Create Thread", onclick: () => startThread(m) }, "Thread") : null,
      mine && !m.webhook_id ? h("button.small", { type: "button", "aria-label": "Edit message", onclick: () => startEdit(m) }, "Edit") : null,
      // Others' messages too, for those with MANAGE_MESSAGES in the channel.
      mine || (!(m.flags & 64) && mayManageMessages(m.channel_id)) ? h("button.small", { type: "button", "aria-label": "Delete message", onclick: () => remove(m) }, "Delete") : null,
      maySelect(m) ? h("button.small", { type: "button", "aria-label": "Select messages", title: "Select messages to delete together", onclick: () => startSelecting(m) }, "Select") : null)].filter(Boolean));
  return node;
}

function divider() {
  return h("li.unread-divider", { id: "unread-divider" }, h("div.rule", { role: "separator", "aria-label": "New messages" }, h("span", { "aria-hidden": "true" }, "New messages")));
}

/** Shows a run of blocked messages, or hides it again; the focus stays on its line. */
function toggleBlocked(run) {
  const shown = run.every((m) => shownBlocked.has(m.id));
  for (const m of run) {
    if (shown) shownBlocked.delete(m.id);
    else shownBlocked.add(m.id);
  }
  renderAll();
  const line = $(`blocked-${run[0].id}`);
  if (line) line.focus();
}

function renderAll() {
  const entry = state.messages.get(state.channelId);
  if (!entry) { fill(list()); return; }
  const nodes = [];
  let placed = false;
  // The message before (null after a divider or a date separator): grouping.
  let prev = null;
  // A date separator where the day changes (and above the very first
  // message, once the history is loaded to its start).
  let lastDay = null;
  const dated = (m) => {
    const day = dayOf(m.timestamp);
    if (day === lastDay) return;
    const first = lastDay === null;
    lastDay = day;
    if (first && !entry.complete) return;
    nodes.push(dateSeparator(m.timestamp));
    prev = null;
  };
  for (const part of blockedRuns(entry.list)) {
    if (part.blocked) {
      const run = part.blocked;
      const shown = run.every((m) => shownBlocked.has(m.id));
      dated(run[0]);
      nodes.push(blockedLine(run, shown, () => toggleBlocked(run), (m) => `msg-${m.id}`));
      prev = null;
      for (const m of run) { nodes.push(messageNode(m, prev)); prev = m; }
      continue;
    }
    const m = part.message;
    dated(m);
    if (!placed && dividerAfter && idCmp(m.id, dividerAfter) > 0 && m.author.id !== state.me.id) {
      nodes.push(divider());
      placed = true;
      prev = null;
    }
    nodes.push(messageNode(m, prev));
    prev = m;
  }
  nodes.push(...pendingIn(state.channelId).map(pendingNode));
  fill(list(), nodes);
  $("load-older").hidden = entry.complete;
}

/** A message still on its way (or that failed): set apart, with Retry and Delete once it failed. */
function pendingNode(p) {
  const name = displayName(p.guild_id, state.me.id);
  return h(`li.message.pending${p.failed ? ".failed" : ""}`, { id: `pending-${p.nonce}`, dataset: { nonce: p.nonce } },
    avatar(name),
    h("div.message-head", {},
      h("span.author", {}, name),
      h("span.pending-status", {}, p.failed ? "Failed —" : "Sending…"),
      p.failed ? h("button.small", { type: "button", "aria-label": "Retry sending", onclick: () => retrySend(p) }, "Retry") : null,
      p.failed ? h("button.small", { type: "button", "aria-label": "Delete unsent message", onclick: () => dropUnsent(p) }, "Delete") : null),
    h("div.content", {}, renderContent({ ...p, author: state.me, mentions: [], mention_roles: [] })));
}

function pendingChanged(channelId) {
  if (channelId !== state.channelId || $("chat-view").hidden) return;
  const stick = nearBottom();
  renderAll();
  if (stick) scrollToBottom();
}

/**
 * channel id -> the tail of its send queue: messages go out one after
 * another in the order typed, so a rate limit cannot reorder them.
 */
const sendQueues = new Map();
let nonceSeq = 0;
const newNonce = () => String(Date.now() * 1000 + (nonceSeq++ % 1000));

function enqueue(p) {
  const tail = (sendQueues.get(p.channel_id) || Promise.resolve()).then(() => deliver(p));
  sendQueues.set(p.channel_id, tail);
  tail.then(() => { if (sendQueues.get(p.channel_id) === tail) sendQueues.delete(p.channel_id); });
}

/** Sends one queued message, waiting out each 429 and trying the same one again. */
async function deliver(p) {
  if (!pendingIn(p.channel_id).includes(p)) return;
  const body = { content: p.content, nonce: p.nonce };
  if (p.message_reference) body.message_reference = p.message_reference;
  for (let tries = 0; ; tries++) {
    try {
      const m = await api("POST", `/channels/${p.channel_id}/messages`, body, { retry: false });
      if (dropPending(p.channel_id, p.nonce)) emit("pending", p.channel_id);
      apply("MESSAGE_CREATE", m);
      clearNotices(`send-${p.channel_id}`);
      return;
    } catch (err) {
      if (err.status === 429 && tries < 20) {
        const after = err.body && Number(err.body.retry_after);
        await new Promise((r) => setTimeout(r, (after > 0 ? after * 1000 : 1000) + 50));
        continue;
      }
      // Refused as it stands (permissions, a DM not taken): the words go
      // back to an empty composer, as they were typed. Otherwise (offline,
      // a server error) it stays, failed, to be retried or deleted.
      const input = $("composer-input");
      const refused = err.status >= 400 && err.status < 500 && err.status !== 429;
      if (refused && p.channel_id === state.channelId && !input.value) {
        if (dropPending(p.channel_id, p.nonce)) emit("pending", p.channel_id);
        input.value = p.content;
        fitComposer();
      } else setPendingFailed(p.channel_id, p.nonce, true);
      const key = `send-${p.channel_id}`;
      if (err.code === 50007) notify(`Your message could not be delivered. ${err.message} This is usually because you don't share a server with them, or their settings don't allow it.`, "error", { key });
      else notify(`Your message was not sent: ${err.message}`, "error", { key });
      return;
    }
  }
}

function retrySend(p) {
  setPendingFailed(p.channel_id, p.nonce, false);
  enqueue(p);
}

function dropUnsent(p) {
  if (dropPending(p.channel_id, p.nonce)) emit("pending", p.channel_id);
  $("composer-input").focus();
}

/** In a DM with someone the user blocks: a notice with Unblock in place of the composer. */
function renderComposer() {
  const other = dmRecipient(channel());
  const blocked = !!other && isBlocked(other.id);
  const box = $("dm-blocked");
  const focusIn = (el) => el.contains(document.activeElement);
  if (blocked) {
    $("dm-blocked-text").textContent = `You blocked ${other.global_name || other.username}. Unblock to send messages.`;
    const moved = focusIn($("composer"));
    $("composer").hidden = true;
    box.hidden = false;
    cancelReply();
    if (moved) $("dm-unblock").focus();
  } else {
    const moved = !box.hidden && focusIn(box);
    box.hidden = true;
    $("composer").hidden = false;
    if (moved) $("composer-input").focus();
  }
}

/** Someone was blocked or unblocked: their messages and the DM's composer follow. */
function relationshipsChanged() {
  if ($("chat-view").hidden || !state.channelId) return;
  renderComposer();
  if (list().dataset.channel !== state.channelId) return;
  const stick = nearBottom();
  renderAll();
  if (stick) scrollToBottom();
}

/** Acks sent, by channel: the server hears of each newer read once. */
const acked = new Map();
/** Pending acks, by channel: leaving a channel must not cancel its ack. */
const ackTimers = new Map();

/** Tells the server (and so the user's other devices) after a moment's calm. */
function ackSoon(channelId, messageId) {
  clearTimeout(ackTimers.get(channelId));
  ackTimers.set(channelId, setTimeout(() => {
    ackTimers.delete(channelId);
    const last = acked.get(channelId);
    if (last && idCmp(last, messageId) >= 0) return;
    acked.set(channelId, messageId);
    api("POST", `/channels/${channelId}/messages/${messageId}/ack`, {}).catch(() => acked.delete(channelId));
  }, 500));
}

function markRead() {
  const entry = state.messages.get(state.channelId);
  const newest = entry && entry.list.length ? entry.list[entry.list.length - 1].id : null;
  const hadMarks = state.unread.has(state.channelId) || state.mentions.has(state.channelId);
  if (newest) {
    saveLastRead(state.channelId, newest);
    // Whatever marked it read here (this view, or the message arriving in
    // view), the server hears of the newest message seen.
    ackSoon(state.channelId, newest);
  }
  state.unread.delete(state.channelId);
  state.mentions.delete(state.channelId);
  if (hadMarks) emit("unread");
}

/** Shows a text channel, loading its newest page if it is not cached. */
export async function openChat(channelId) {
  cancelReply();
  editing = null;
  const c = channel(channelId);
  $("channel-title").textContent = channelLabel(c);
  $("channel-topic").textContent = (c && c.topic) || "";
  $("composer-input").placeholder = c ? `Message ${channelLabel(c).replace(/^# /, "#")}` : "Message";
  dividerAfter = state.unread.has(channelId) ? state.lastRead[channelId] || "0" : null;
  // Blocked messages are collapsed again in each channel opened.
  shownBlocked.clear();
  renderComposer();
  fill(list());
  pinsChannelChanged();
  bulkChannelChanged();
  renderTimeout();
  threadsChannelChanged();
  uploadsChannelChanged();
  renderTyping();
  if (!state.messages.has(channelId)) {
    try {
      const page = await api("GET", `/channels/${channelId}/messages?limit=${PAGE}`);
      if (state.channelId !== channelId) return;
      cachePage(channelId, page, page.length < PAGE);
      clearNotices("load-messages");
    } catch (err) {
      notify(`Couldn't load messages: ${err.message}`, "error", { key: "load-messages" });
      return;
    }
  }
  renderAll();
  const d = $("unread-divider");
  if (d) d.scrollIntoView({ block: "center" });
  else scrollToBottom();
  markRead();
}

/** Scroll-back: the page before the oldest loaded message. */
async function loadOlder() {
  const channelId = state.channelId;
  const entry = state.messages.get(channelId);
  if (!entry || entry.complete || loadingOlder || !entry.list.length) return;
  loadingOlder = true;
  const s = scroller();
  const fromBottom = s.scrollHeight - s.scrollTop;
  try {
    const page = await api("GET", `/channels/${channelId}/messages?limit=${PAGE}&before=${entry.list[0].id}`);
    if (state.channelId !== channelId) return;
    const have = new Set(entry.list.map((m) => m.id));
    entry.list = page.filter((m) => !have.has(m.id)).concat(entry.list).sort((a, b) => idCmp(a.id, b.id));
    entry.complete = page.length < PAGE;
    renderAll();
    // Keep the message the user was looking at where it was.
    s.scrollTop = s.scrollHeight - fromBottom;
  } catch (err) {
    notify(`Couldn't load older messages: ${err.message}`);
  } finally {
    loadingOlder = false;
  }
}

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Shows a message of the open channel in its context: older pages are
 * loaded until it is there (at most `pages` of them). False when it is not
 * found or the user went elsewhere meanwhile.
 */
export async function revealMessage(channelId, id, pages = 40) {
  for (let tries = 0; tries < pages + 50 && state.channelId === channelId; tries++) {
    // A blocked person's message: its run is shown first.
    if ($(`msg-${id}`) && $(`msg-${id}`).hidden) revealRun(channelId, id);
    const node = $(`msg-${id}`);
    if (node) {
      node.scrollIntoView({ block: "center" });
      node.classList.add("flash");
      setTimeout(() => node.classList.remove("flash"), 1500);
      return true;
    }
    const entry = state.messages.get(channelId);
    // The channel's first page is still on its way.
    if (!entry || list().dataset.channel !== channelId || loadingOlder) { await pause(100); continue; }
    if (entry.complete || pages-- <= 0) return false;
    await loadOlder();
  }
  return false;
}

/** Shows the run of blocked messages a message is in (to jump to it). */
function revealRun(channelId, id) {
  const entry = state.messages.get(channelId);
  const part = entry && blockedRuns(entry.list).find((p) => p.blocked && p.blocked.some((m) => m.id === id));
  if (!part) return;
  for (const m of part.blocked) shownBlocked.add(m.id);
  renderAll();
}

/** A MESSAGE_* event for the open channel. */
export function messagesChanged(evt) {
  if (evt.channelId !== state.channelId || $("chat-view").hidden) return;
  const stick = nearBottom();
  if (evt.created) {
    const old = $(`msg-${evt.created.id}`);
    const m = findMessage(evt.created.id);
    if (!m) return;
    if (old && !fromBlocked(m)) old.replaceWith(messageNode(m));
    // Messages still sending stay last.
    else if (list().querySelector(".pending")) renderAll();
    else {
      const entry = state.messages.get(state.channelId);
      const last = entry.list[entry.list.length - 1];
      // A blocked person's message joins (or starts) a run: its line counts it.
      if ((last && last.id !== m.id) || fromBlocked(m)) { renderAll(); } else {
        // A new day gets its separator; after a divider a new group starts.
        let prev = entry.list[entry.list.length - 2] || null;
        const lastNode = list().lastElementChild;
        if (!prev ? entry.complete : dayOf(prev.timestamp) !== dayOf(m.timestamp)) {
          list().append(dateSeparator(m.timestamp));
          prev = null;
        } else if (lastNode && !lastNode.classList.contains("message")) prev = null;
        list().append(messageNode(m, prev));
      }
    }
    if (stick || evt.created.author.id === state.me.id) scrollToBottom();
    if (document.visibilityState === "visible") markRead();
  } else if (evt.updated) {
    const old = $(`msg-${evt.updated.id}`);
    const m = findMessage(evt.updated.id);
    if (old && m && editing !== m.id) old.replaceWith(messageNode(m));
  } else if (evt.deleted) {
    let runs = false;
    for (const id of evt.deleted) {
      const node = $(`msg-${id}`);
      if (!node) continue;
      // A group's head, or a day's last message, gone: the rows regroup.
      const next = node.nextElementSibling;
      const before = node.previousElementSibling;
      runs = runs || node.classList.contains("blocked") || !!(next && next.classList.contains("continuation"))
        || !!(before && before.classList.contains("date-separator"));
      node.remove();
    }
    // A run of blocked messages lost one: count again.
    if (runs && !editing) {
      const top = scroller().scrollTop;
      renderAll();
      scroller().scrollTop = top;
    }
  }
  renderTyping();
}

export function renderTyping() {
  const who = typingIn(state.channelId).map((id) => displayName(channel() && channel().guild_id, id));
  const text = who.length === 0 ? ""
    : who.length === 1 ? `${who[0]} is typing…`
      : who.length <= 3 ? `${who.join(", ")} are typing…` : "Several people are typing…";
  $("typing").textContent = text;
}

function startReply(m) {
  replyTo = m;
  $("reply-bar").hidden = false;
  $("reply-text").textContent = `Replying to ${displayName(m.guild_id, m.author.id)}`;
  $("composer-input").focus();
}

function cancelReply() {
  replyTo = null;
  $("reply-bar").hidden = true;
}

function startEdit(m) {
  const node = $(`msg-${m.id}`);
  if (!node) return;
  editing = m.id;
  const box = h("textarea.edit-box", { "aria-label": "Edit message", rows: 2, maxlength: 2000 });
  box.value = m.content;
  // Files can be taken off a message while editing it (not added), as in
  // Discord: each gets a Remove, applied on save.
  const dropped = new Set();
  for (const a of m.attachments || []) {
    const shown = node.querySelector(`.attachment[data-id="${a.id}"]`);
    if (!shown) continue;
    shown.after(h("button.small.attachment-remove", {
      type: "button", "aria-label": `Remove ${a.filename}`,
      onclick: (e) => { dropped.add(a.id); shown.remove(); e.currentTarget.remove(); box.focus(); },
    }, `Remove ${a.filename}`));
  }
  const finish = () => {
    editing = null;
    const current = findMessage(m.id);
    if (current) node.replaceWith(messageNode(current));
  };
  box.addEventListener("keydown", async (e) => {
    if (e.key === "Escape") { e.preventDefault(); finish(); $("composer-input").focus(); }
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      const content = box.value.trim();
      const kept = (m.attachments || []).filter((a) => !dropped.has(a.id));
      if (!content && !kept.length) { finish(); remove(m); return; }
      const body = { content };
      // Listed, the attachments are the ones to keep; absent, all stay.
      if (dropped.size) body.attachments = kept.map((a) => ({ id: a.id }));
      try {
        const updated = await api("PATCH", `/channels/${m.channel_id}/messages/${m.id}`, body);
        apply("MESSAGE_UPDATE", updated);
      } catch (err) {
        notify(`Couldn't edit the message: ${err.message}`);
      }
      finish();
      $("composer-input").focus();
    }
  });
  node.querySelector(".content").replaceWith(h("div", {}, box, h("div.time", {}, "Enter to save, Escape to cancel")));
  box.focus();
}

async function remove(m) {
  if (!window.confirm("Delete this message?")) return;
  try {
    await api("DELETE", `/channels/${m.channel_id}/messages/${m.id}`);
    apply("MESSAGE_DELETE", { id: m.id, channel_id: m.channel_id, guild_id: m.guild_id });
  } catch (err) {
    notify(`Couldn't delete the message: ${err.message}`);
  }
}

async function send() {
  if (commandPicked()) { await runPicked(); return; }
  const input = $("composer-input");
  // Mentions picked as readable names go out as mentions (autocomplete.js).
  const content = outgoingText(input.value.trim());
  // Files alone make a message too.
  if ((!content && !hasFiles()) || !state.channelId) return;
  // Over 2,000 characters: refused here, the text stays to be shortened.
  if (!checkLength(content)) return;
  clearNotices("too-long");
  const body = { content, nonce: newNonce() };
  if (replyTo) body.message_reference = { message_id: replyTo.id, fail_if_not_exists: false };
  const channelId = state.channelId;
  if (!hasFiles()) {
    // Shown at once as "sending"; the queue sends it after those before it.
    const c = channel();
    const p = { nonce: body.nonce, channel_id: channelId, guild_id: c && c.guild_id, content, message_reference: body.message_reference, failed: false };
    input.value = "";
    fitComposer();
    cancelReply();
    lastTypingSent = 0;
    addPending(p);
    scrollToBottom();
    enqueue(p);
    return;
  }
  const files = takeFiles(channelId);
  input.value = "";
  fitComposer();
  cancelReply();
  lastTypingSent = 0;
  try {
    const m = files.length
      ? await sendWithFiles(channelId, body, files)
      : await api("POST", `/channels/${channelId}/messages`, body);
    apply("MESSAGE_CREATE", m);
    sent(files);
    // Whatever kept the last one from going out is put right.
    clearNotices(`send-${channelId}`);
  } catch (err) {
    // Give the text and the files back so nothing is lost.
    if (!input.value) { input.value = content; fitComposer(); }
    if (files.length) giveBack(channelId, files);
    // 50007: a DM the other side does not take from the user (a block
    // either way, their privacy settings, or no server in common).
    const key = `send-${channelId}`;
    if (err.code === 50007) notify(`Your message could not be delivered. ${err.message} This is usually because you don't share a server with them, or their settings don't allow it.`, "error", { key });
    else if (!err.cancelled) notify(`Your message was not sent: ${err.message}`, "error", { key });
  }
}

/** The composer grows with its text (up to a point) and shrinks back with it. */
function fitComposer() {
  composerChanged();
  const input = $("composer-input");
  input.style.height = "auto";
  if (input.value) input.style.height = `${Math.min(input.scrollHeight, 160)}px`;
}

function typed() {
  const now = Date.now();
  if (!state.channelId || now - lastTypingSent < 8000 || !$("composer-input").value.trim()) return;
  lastTypingSent = now;
  api("POST", `/channels/${state.channelId}/typing`).catch(() => {});
}

export function initChat() {
  const input = $("composer-input");
  initUploads();
  initComposer();
  $("composer").addEventListener("submit", (e) => { e.preventDefault(); send(); });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(); }
    if (e.key === "Escape" && replyTo) { e.preventDefault(); cancelReply(); }
    if (e.key === "ArrowUp" && !input.value) {
      // Up in an empty composer edits your last message, as in Discord.
      const entry = state.messages.get(state.channelId);
      const own = entry && [...entry.list].reverse().find((m) => m.author.id === state.me.id && !m.webhook_id && (!m.type || m.type === 19));
      if (own) { e.preventDefault(); startEdit(own); }
    }
  });
  input.addEventListener("input", () => { fitComposer(); typed(); });
  $("reply-cancel").addEventListener("click", cancelReply);
  $("dm-unblock").addEventListener("click", () => {
    const other = dmRecipient(channel());
    if (other) unblockUser(other.id);
  });
  on("relationships", relationshipsChanged);
  // The user's time-out began or ended: React and Thread follow.
  on("timeout", relationshipsChanged);
  on("pending", pendingChanged);
  $("load-older").addEventListener("click", loadOlder);
  scroller().addEventListener("scroll", () => { if (scroller().scrollTop < 60) loadOlder(); });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && !$("chat-view").hidden) markRead();
  });
}
