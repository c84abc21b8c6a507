// Message search in the open server, or in the open DM or group DM (the
// channel's own search route): the header's search box, Discord's
// operators (from:, mentions:, in:, has:, before:, after:, during:,
// pinned:) turned into the search route's filters, and the results panel
// whose hits jump to the message in its channel; the same panel shows the
// mentions inbox (the rail's @ button).

import { api } from "./api.js";
import { revealMessage } from "./chat.js";
import { $, fill, h, notify } from "./dom.js";
import { formatTime, timeTitle, plainContent } from "./markup.js";
import { closePins } from "./pins.js";
import { HOME, channel, channelLabel, displayName, guild, isPrivate, state, thread } from "./state.js";
import { closeThreadPanels } from "./threads.js";

const PAGE = 25;
/** Snowflakes count milliseconds from Discord's epoch, in their top bits. */
const EPOCH_MS = 1420070400000n;
const HAS = ["link", "embed", "file", "image", "video", "sound", "sticker", "poll"];

const panel = () => $("search-panel");
let actions = {};
/** The search on show: its filters, where it searches and how many hits are loaded. */
let current = null;
/** Where the box searches now: a server's id, or a DM's ("dm:" and its id). */
let placeKey = null;

/**
 * Where the box searches: the open server, or the open DM or group DM
 * (`{guild}` or `{dm}`), or nowhere (null).
 */
function place() {
  if (state.guildId === HOME) {
    const c = channel();
    return isPrivate(c) ? { dm: c } : null;
  }
  const g = state.guildId && guild();
  return g ? { guild: g } : null;
}

/** The people a from: or mentions: may name: the server's members, or the conversation's (the user included). */
function peopleOf(where) {
  if (where.guild) return [...where.guild.members.values()].map((m) => ({ ...m.user, nick: m.nick }));
  return [...(where.dm.recipients || []), state.me].filter(Boolean);
}

/** The id of the first moment of a day (local time), for min_id/max_id. */
function dayId(text, plusDays = 0) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) return null;
  const ms = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + plusDays).getTime();
  if (Number.isNaN(ms)) return null;
  return ((BigInt(ms) - EPOCH_MS) << 22n).toString();
}

function personNamed(people, name) {
  const want = name.replace(/^@/, "").toLowerCase();
  for (const u of people) {
    const names = [u.nick, u.username, u.global_name];
    if (names.some((n) => n && n.toLowerCase() === want)) return u.id;
  }
  return null;
}

function channelNamed(g, name) {
  const want = name.replace(/^#/, "").toLowerCase();
  for (const c of g.channels.values()) if (c.type !== 4 && c.name.toLowerCase() === want) return c.id;
  return null;
}

/**
 * Reads what the user typed: `op:value` words become filters, everything
 * else is words to find. `where` is place()'s answer. Returns the query
 * string, or a problem to show.
 */
export function parseSearch(text, where) {
  const g = where.guild;
  const params = new URLSearchParams();
  const words = [];
  for (const token of text.trim().split(/\s+/).filter(Boolean)) {
    const m = /^(from|mentions|in|has|before|after|during|pinned):(.+)$/i.exec(token);
    if (!m) { words.push(token); continue; }
    const op = m[1].toLowerCase();
    const value = m[2];
    if (op === "from" || op === "mentions") {
      const id = personNamed(peopleOf(where), value);
      if (!id) return { problem: g ? `No member of this server is called ${value}.` : `Nobody in this conversation is called ${value}.` };
      params.append(op === "from" ? "author_id" : "mentions", id);
    } else if (op === "in") {
      if (!g) return { problem: "in: works in a server; here the search is this conversation." };
      const id = channelNamed(g, value);
      if (!id) return { problem: `This server has no channel called ${value}.` };
      params.append("channel_id", id);
    } else if (op === "has") {
      if (!HAS.includes(value.toLowerCase())) return { problem: `has: takes one of ${HAS.join(", ")}.` };
      params.append("has", value.toLowerCase());
    } else if (op === "pinned") {
      if (!["true", "false"].includes(value.toLowerCase())) return { problem: "pinned: takes true or false." };
      params.set("pinned", value.toLowerCase());
    } else {
      const start = dayId(value);
      if (!start) return { problem: `${op}: takes a date as YYYY-MM-DD.` };
      if (op === "before") params.set("max_id", start);
      if (op === "after") params.set("min_id", dayId(value, 1));
      if (op === "during") { params.set("min_id", (BigInt(start) - 1n).toString()); params.set("max_id", dayId(value, 1)); }
    }
  }
  if (words.length) params.set("content", words.join(" "));
  if (![...params.keys()].length) return { problem: "Type words to find, or a filter such as from:name." };
  return { query: params.toString() };
}

function hitItem(g, m, withServer = false) {
  const c = channel(m.channel_id) || thread(m.channel_id);
  const where = `${c ? channelLabel(c) : ""}${withServer && g ? `, ${g.name}` : ""}`;
  return h("li.pin.search-hit", { dataset: { id: m.id } },
    h("div.message-head", {},
      h("span.author", {}, displayName(m.guild_id, m.author.id)),
      h("span.search-channel", {}, where),
      h("time.time", { datetime: m.timestamp, title: timeTitle(m.timestamp) }, formatTime(m.timestamp))),
    h("div.content", {}, plainContent(m)),
    h("div.pin-actions", {},
      h("button.small", { type: "button", "aria-label": `Jump to the message from ${formatTime(m.timestamp)}`, onclick: () => jump(m) }, "Jump")));
}

async function jump(m) {
  if (m.guild_id && m.guild_id !== state.guildId) actions.selectGuild(m.guild_id);
  if (!m.guild_id && state.guildId !== HOME) actions.selectGuild(HOME);
  actions.selectChannel(m.channel_id);
  if (!(await revealMessage(m.channel_id, m.id))) notify("Couldn't find that message in the channel's history.", "info");
}

async function run(more = false) {
  if (!current) return;
  const asked = current;
  const { where } = asked;
  const g = where.guild || null;
  const offset = more ? asked.shown : 0;
  const route = g ? `/guilds/${g.id}/messages/search` : `/channels/${where.dm.id}/messages/search`;
  let found;
  try {
    found = await api("GET", `${route}?${asked.query}&limit=${PAGE}&offset=${offset}`);
  } catch (err) {
    if (current === asked) fill($("search-results"), h("li.pins-empty", {}, `Couldn't search: ${err.message}`));
    return;
  }
  // Another search, or another place, since.
  if (current !== asked) return;
  const hits = found.messages.map((hit) => hit[0]);
  current.shown = offset + hits.length;
  const total = found.total_results;
  $("search-summary").textContent = total === 0 ? "No results" : `${total} result${total === 1 ? "" : "s"}`;
  const items = hits.map((m) => hitItem(g, m));
  if (more) {
    $("search-more").before(...items);
  } else {
    fill($("search-results"), ...items,
      h("li", { id: "search-more" }, h("button.small", { type: "button", onclick: () => run(true) }, "More results")));
  }
  $("search-more").hidden = current.shown >= total;
}

function submit(e) {
  e.preventDefault();
  const where = place();
  if (!where) return;
  const parsed = parseSearch($("search-input").value, where);
  closePins();
  closeThreadPanels();
  panel().hidden = false;
  if (parsed.problem) {
    current = null;
    $("search-summary").textContent = "Search";
    fill($("search-results"), h("li.pins-empty", { role: "alert" }, parsed.problem));
    return;
  }
  current = { query: parsed.query, where, shown: 0 };
  $("search-summary").textContent = "Searching…";
  run();
}

/** The mentions inbox: the newest messages that call on the user, in every server. */
async function openMentions() {
  closePins();
  closeThreadPanels();
  current = null;
  panel().hidden = false;
  $("search-summary").textContent = "Recent mentions";
  fill($("search-results"));
  let found;
  try {
    found = await api("GET", "/users/@me/mentions?limit=25&roles=true&everyone=true");
  } catch (err) {
    fill($("search-results"), h("li.pins-empty", {}, `Couldn't load your mentions: ${err.message}`));
    return;
  }
  fill($("search-results"), found.length
    ? found.map((m) => hitItem(state.guilds.get(m.guild_id), m, true))
    : h("li.pins-empty", {}, "Nobody has mentioned you yet."));
  $("search-close").focus();
}

export function closeSearch() {
  panel().hidden = true;
  current = null;
}

/**
 * The server or the channel changed: the box searches the server, or the
 * DM on show (and is hidden elsewhere); results of another place close.
 */
export function searchPlaceChanged() {
  const where = place();
  const key = !where ? null : where.guild ? where.guild.id : `dm:${where.dm.id}`;
  $("search-form").hidden = !where;
  $("search-input").placeholder = where && where.dm ? `Search ${channelLabel(where.dm)}` : "Search";
  if (key === placeKey) return;
  placeKey = key;
  closeSearch();
}

export function initSearch(a) {
  actions = a;
  $("search-form").addEventListener("submit", submit);
  $("open-mentions").addEventListener("click", () => (panel().hidden ? openMentions() : closeSearch()));
  $("search-close").addEventListener("click", () => { closeSearch(); $("search-input").focus(); });
  panel().addEventListener("keydown", (e) => { if (e.key === "Escape") { closeSearch(); $("search-input").focus(); } });
}
