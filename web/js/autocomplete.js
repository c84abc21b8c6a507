// Suggestions while typing in the composer: "@" lists members (display
// name and username), roles that may be mentioned and @everyone/@here
// (for those with MENTION_EVERYONE); "#" the server's text channels; ":"
// and two characters or more, emoji by shortcode. A listbox above the
// composer with aria-activedescendant, like the slash-command list: arrows
// move, Enter or Tab (or a click) picks, Escape closes.
//
// The composer stays readable: picking puts "@name" or "#channel" in it,
// and `outgoing` turns the names picked into `<@id>`, `<@&id>` and `<#id>`
// when the message is sent (an emoji goes in as itself).

import { $, fill, h } from "./dom.js";
import { searchEmoji, emojiLabel } from "./emojipicker.js";
import { can, canView, channel, displayName, guild, state } from "./state.js";

const LIMIT = 10;
const MENTION_EVERYONE = 1n << 17n;

/** Per server (or "dm"): what each readable name picked stands for. */
const picked = new Map();
let items = [];
let active = 0;
/** Where the typed trigger and query are in the composer: [start, end). */
let span = null;

const list = () => $("autocomplete");
const input = () => $("composer-input");
const placeKey = () => state.guildId || "dm";

function close() {
  list().hidden = true;
  items = [];
  span = null;
  input().removeAttribute("aria-activedescendant");
}

/** The trigger before the caret: { kind, query, start }, or null. */
function triggerAt(el) {
  const caret = el.selectionStart;
  if (caret !== el.selectionEnd) return null;
  const from = Math.max(0, caret - 40);
  const before = el.value.slice(from, caret);
  // Anchored at the end, one bounded class: no backtracking to speak of.
  const m = /(^|[\s(])([@#:])([^\s@#:<>]{0,32})$/.exec(before);
  if (!m || (m[1] === "" && from > 0)) return null;
  const [, , kind, query] = m;
  if (kind === ":" && query.length < 2) return null;
  return { kind, query, start: caret - query.length - 1, end: caret };
}

const matches = (q, ...names) => names.some((n) => n && n.toLowerCase().includes(q));
const rank = (q, ...names) => (names.some((n) => n && n.toLowerCase().startsWith(q)) ? 0 : 1);

function suggestions({ kind, query }) {
  const q = query.toLowerCase();
  const g = guild();
  if (kind === ":") {
    return searchEmoji(query, LIMIT).map((e) => ({ id: e.char, label: `:${e.names[0]}:`, icon: e.char, insert: e.char, name: `${e.char} ${emojiLabel(e)}` }));
  }
  if (kind === "#") {
    if (!g) return [];
    return [...g.channels.values()]
      .filter((c) => (c.type === 0 || c.type === 5) && canView(c, g) && matches(q, c.name))
      .sort((a, b) => rank(q, a.name) - rank(q, b.name) || (a.position || 0) - (b.position || 0))
      .slice(0, LIMIT)
      .map((c) => ({ id: c.id, label: `#${c.name}`, insert: `#${c.name}`, raw: `<#${c.id}>`, name: `#${c.name}` }));
  }
  // "@": the server's members, or the DM's people.
  const people = g ? [...g.members.values()].map((m) => m.user)
    : [...((channel() && channel().recipients) || []), ...(state.me ? [state.me] : [])];
  const out = people
    .map((u) => ({ u, shown: g ? displayName(g.id, u.id) : (u.global_name || u.username) }))
    .filter(({ u, shown }) => matches(q, shown, u.username))
    .sort((a, b) => rank(q, a.shown, a.u.username) - rank(q, b.shown, b.u.username) || a.shown.localeCompare(b.shown))
    .map(({ u, shown }) => ({
      id: u.id, label: shown, sub: u.username !== shown ? u.username : "",
      insert: `@${shown}`, raw: `<@${u.id}>`, name: `${shown}${u.username !== shown ? ` ${u.username}` : ""}`,
    }));
  if (g) {
    const everyone = can(MENTION_EVERYONE, g);
    for (const r of g.roles) {
      if (r.id === g.id || !(r.mentionable || everyone) || !matches(q, r.name)) continue;
      out.push({ id: r.id, label: `@${r.name}`, sub: "role", insert: `@${r.name}`, raw: `<@&${r.id}>`, name: `@${r.name} role` });
    }
    if (everyone) {
      for (const [word, what] of [["everyone", "everyone in the channel"], ["here", "everyone online"]]) {
        if (word.startsWith(q)) out.push({ id: word, label: `@${word}`, sub: what, insert: `@${word}`, name: `@${word}` });
      }
    }
  }
  return out.slice(0, LIMIT);
}

function render() {
  if (!items.length) { close(); return; }
  fill(list(), items.map((it, i) => h(`li.command-entry.autocomplete-entry${i === active ? ".active" : ""}`, {
    id: `autocomplete-${i}`, role: "option", "aria-selected": i === active ? "true" : "false", "aria-label": it.name,
    // On mousedown: the composer keeps the focus.
    onmousedown: (e) => { e.preventDefault(); pick(it); },
  }, it.icon ? h("span.autocomplete-icon", { "aria-hidden": "true" }, it.icon) : null,
  h("span.command-name", {}, it.label), it.sub ? h("span.command-description", {}, it.sub) : null)));
  list().hidden = false;
  input().setAttribute("aria-activedescendant", `autocomplete-${active}`);
  const el = list().children[active];
  if (el) el.scrollIntoView({ block: "nearest" });
}

function refresh() {
  const el = input();
  const t = el.value.startsWith("/") && !el.value.includes(" ") ? null : triggerAt(el);
  if (!t) { close(); return; }
  const kind = span && span.kind;
  items = suggestions(t);
  if (kind !== t.kind) active = 0;
  active = Math.min(active, Math.max(0, items.length - 1));
  span = t;
  render();
}

/** Puts the suggestion in place of what was typed, and remembers what a name stands for. */
function pick(it) {
  const el = input();
  const { start, end } = span;
  const text = `${it.insert} `;
  el.value = el.value.slice(0, start) + text + el.value.slice(end);
  const caret = start + text.length;
  el.setSelectionRange(caret, caret);
  if (it.raw) {
    if (!picked.has(placeKey())) picked.set(placeKey(), new Map());
    picked.get(placeKey()).set(it.insert, it.raw);
  }
  close();
  el.focus();
  // The composer's size and the length counter follow.
  el.dispatchEvent(new Event("input", { bubbles: true }));
}

const wordChar = (c) => !!c && /[\p{L}\p{N}_]/u.test(c);

/**
 * The text to send: each readable name picked in this place ("@Ada",
 * "#general"), standing alone, becomes its mention. Longer names first, so
 * "@Ada Lovelace" wins over "@Ada".
 */
export function outgoing(text) {
  const names = picked.get(placeKey());
  if (!names || !names.size) return text;
  const order = [...names.keys()].sort((a, b) => b.length - a.length);
  let out = "";
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if ((c === "@" || c === "#") && !wordChar(text[i - 1])) {
      const name = order.find((n) => text.startsWith(n, i) && !wordChar(text[i + n.length]));
      if (name) { out += names.get(name); i += name.length; continue; }
    }
    out += c;
    i++;
  }
  return out;
}

function keys(e) {
  if (list().hidden || !items.length) return;
  if (e.key === "ArrowDown" || e.key === "ArrowUp") {
    active = (active + (e.key === "ArrowDown" ? 1 : items.length - 1)) % items.length;
  } else if (e.key === "Enter" || e.key === "Tab") {
    if (e.shiftKey) return;
    e.preventDefault();
    e.stopImmediatePropagation();
    pick(items[active]);
    return;
  } else if (e.key === "Escape") {
    e.preventDefault();
    e.stopImmediatePropagation();
    close();
    return;
  } else return;
  e.preventDefault();
  e.stopImmediatePropagation();
  render();
}

export function initAutocomplete() {
  const el = input();
  el.setAttribute("aria-autocomplete", "list");
  // A textarea cannot be a combobox, so it carries no aria-expanded: the
  // list it controls and its active option say what is offered.
  el.setAttribute("aria-controls", "autocomplete");
  el.addEventListener("keydown", keys, true);
  el.addEventListener("input", refresh);
  // The caret moved (a click, Home, End): the suggestions follow it.
  el.addEventListener("click", refresh);
  el.addEventListener("blur", () => setTimeout(() => { if (document.activeElement !== el) close(); }, 150));
}
