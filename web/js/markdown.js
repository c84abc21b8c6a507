// Discord's markdown, parsed by hand into DOM nodes (never HTML): bold,
// italic, underline, strike, spoilers, inline code and code blocks, block
// quotes, headers, lists, masked links, timestamps; mentions and bare
// links through the caller's `tokens` (markup.js). The text is hostile:
// nesting is bounded (MAX_DEPTH), every regex is anchored or sticky with no
// nested quantifiers, and a delimiter with no closer left is remembered, so
// a long message costs a few passes, not a pass per character.

import { h } from "./dom.js";

/** Emphasis nested deeper than this stays text. */
const MAX_DEPTH = 8;
/** What a backslash escapes (the backslash goes, the character stays as text). */
const ESCAPABLE = "\\`*_~|<>[]#@:-";

const USER = /<@!?(\d{1,20})>/y;
const ROLE = /<@&(\d{1,20})>/y;
const CHANNEL = /<#(\d{1,20})>/y;
const TIME = /<t:(-?\d{1,14})(?::([tTdDfFR]))?>/y;
const CUSTOM_EMOJI = /<a?:(\w{2,32}):(\d{1,20})>/y;
const ANGLE_URL = /<(https?:\/\/[^\s<>]{1,2000})>/y;
const HEADING = /^(#{1,3}) +(?=\S)/;
const LIST_ITEM = /^( {0,4})([-*]|\d{1,9}\.) +(?=\S)/;
const WORD = /[\p{L}\p{N}_]/u;
const SPACE = /\s/;

/**
 * How much of a matched URL is the link: trailing punctuation ends the
 * sentence, not the URL, and so does a ")" that closes a parenthesis
 * opened before it ("(see https://example.com/a)"); one opened inside
 * stays ("https://en.wikipedia.org/wiki/Rust_(programming_language)").
 */
export function urlLength(url) {
  let end = url.length;
  for (;;) {
    const c = url[end - 1];
    if (".,:;!?'\"".includes(c)) { end--; continue; }
    if (c === ")") {
      const body = url.slice(0, end);
      if (body.split(")").length > body.split("(").length) { end--; continue; }
    }
    return end;
  }
}

/** Only http(s) URLs become links: never javascript:, data: or the like. */
export function safeUrl(text) {
  if (!/^https?:\/\//i.test(text)) return null;
  try {
    const u = new URL(text);
    return u.protocol === "http:" || u.protocol === "https:" ? u.href : null;
  } catch {
    return null;
  }
}

export function linkNode(url, children = url, title) {
  // rel=noreferrer: following a link tells the other site nothing.
  return h("a", { href: url, target: "_blank", rel: "noopener noreferrer", title }, children);
}

// ---- timestamps ----

const STYLES = {
  t: { hour: "numeric", minute: "2-digit" },
  T: { hour: "numeric", minute: "2-digit", second: "2-digit" },
  d: { day: "2-digit", month: "2-digit", year: "numeric" },
  D: { dateStyle: "long" },
  f: { dateStyle: "long", timeStyle: "short" },
  F: { dateStyle: "full", timeStyle: "short" },
};

/** "in 5 minutes", "3 days ago": the largest unit that fits. */
export function relativeTime(date, now = Date.now()) {
  const s = (date.getTime() - now) / 1000;
  const a = Math.abs(s);
  const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: "always" });
  const [value, unit] = a < 60 ? [s, "second"] : a < 3600 ? [s / 60, "minute"] : a < 86400 ? [s / 3600, "hour"]
    : a < 30 * 86400 ? [s / 86400, "day"] : a < 365 * 86400 ? [s / (30 * 86400), "month"] : [s / (365 * 86400), "year"];
  return rtf.format(Math.round(value), unit);
}

/** The full date and time, as every timestamp's title says it. */
export const fullDate = (date) => date.toLocaleString(undefined, STYLES.F);

/** `<t:unix:style>` as Discord shows it; null for a date out of range. */
function timestamp(unix, style = "f") {
  const date = new Date(Number(unix) * 1000);
  if (Number.isNaN(date.getTime())) return null;
  const text = style === "R" ? relativeTime(date) : date.toLocaleString(undefined, STYLES[style]);
  return h("time.timestamp", { datetime: date.toISOString(), title: fullDate(date), dataset: { style } }, text);
}

// ---- spoilers ----

/** Hidden until clicked (or Enter/Space); its content is inert meanwhile, so a link in it cannot be followed blind. */
function spoiler(children) {
  const inner = h("span.spoiler-content", { inert: true }, children);
  const box = h("span.spoiler", { role: "button", tabindex: "0", "aria-label": "Spoiler, hidden" }, inner);
  const reveal = (e) => {
    if (box.classList.contains("revealed")) return;
    e.preventDefault();
    e.stopPropagation();
    box.classList.add("revealed");
    inner.inert = false;
    for (const a of ["role", "tabindex", "aria-label"]) box.removeAttribute(a);
    box.title = "Spoiler, revealed";
  };
  box.addEventListener("click", reveal);
  box.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") reveal(e); });
  return box;
}

// ---- inline ----

/** Where a `d` closer for an opener at `from` is, by Discord's rules for each delimiter; -1 if none. */
function closer(src, d, from, failed) {
  if (failed.has(d)) return -1;
  const miss = () => { failed.add(d); return -1; };
  if (d === "*" || d === "_") {
    // A single one: its content may hold pairs ("*a **b** c*"), not singles.
    for (let j = src.indexOf(d, from); ; j = src.indexOf(d, j)) {
      if (j < 0) return miss();
      if (src[j + 1] === d) { j += 2; continue; }
      if (j === from) return -1;
      if (d === "*") return SPACE.test(src[j - 1]) ? -1 : j;
      // "_" closes only before a non-word character: snake_case stays.
      return j + 1 < src.length && WORD.test(src[j + 1]) ? -1 : j;
    }
  }
  let j = src.indexOf(d, from + 1);
  if (j < 0) return miss();
  // "***a***": the bold's closer is the last pair of the run.
  if (d === "**" || d === "__") while (src[j + 2] === d[0]) j++;
  return j;
}

const WRAP = { "**": "strong", "*": "em", _: "em", __: "u", "~~": "s" };

/**
 * Inline markdown of one block. `tokens`: the caller's mentions and bare
 * links ({ user, role, channel, everyone }); `noLinks` inside a masked
 * link's text.
 */
function inline(src, depth, tokens, noLinks = false) {
  const out = [];
  let buf = "";
  const push = (node) => {
    if (buf) { out.push(buf); buf = ""; }
    out.push(node);
  };
  const failed = new Set();
  const sticky = (re, i) => { re.lastIndex = i; return re.exec(src); };
  const n = src.length;
  let i = 0;
  while (i < n) {
    const c = src[i];
    if (c === "\\" && i + 1 < n && ESCAPABLE.includes(src[i + 1])) {
      buf += src[i + 1];
      i += 2;
      continue;
    }
    if (c === "`") {
      let k = 1;
      while (src[i + k] === "`") k++;
      const tick = "`".repeat(k);
      const j = k <= 2 && !failed.has(tick) ? src.indexOf(tick, i + k) : -1;
      if (j < 0) { if (k <= 2) failed.add(tick); buf += tick; i += k; continue; }
      let code = src.slice(i + k, j);
      if (code.length > 2 && code.startsWith(" ") && code.endsWith(" ") && code.trim()) code = code.slice(1, -1);
      if (code) {
        // Inside code nothing else is parsed.
        push(h("code.inline-code", {}, code));
        i = j + k;
        continue;
      }
      buf += src.slice(i, j + k);
      i = j + k;
      continue;
    }
    if ("*_~|".includes(c) && depth < MAX_DEPTH) {
      const pair = src[i + 1] === c;
      const d = pair ? c + c : c;
      let ok = d !== "~" && d !== "|";
      if (ok && d === "*") ok = i + 1 < n && !SPACE.test(src[i + 1]);
      if (ok && d === "_") ok = i === 0 || !WORD.test(src[i - 1]);
      const j = ok ? closer(src, d, i + d.length, failed) : -1;
      if (j > i + d.length) {
        const inner = inline(src.slice(i + d.length, j), depth + 1, tokens, noLinks);
        push(d === "||" ? spoiler(inner) : h(WRAP[d], {}, inner));
        i = j + d.length;
        continue;
      }
      buf += d;
      i += d.length;
      continue;
    }
    if (c === "<") {
      let m;
      let node = null;
      if ((m = sticky(USER, i))) node = tokens.user(m[1]);
      else if ((m = sticky(ROLE, i))) node = tokens.role(m[1]);
      else if ((m = sticky(CHANNEL, i))) node = tokens.channel(m[1]);
      else if ((m = sticky(TIME, i))) node = timestamp(m[1], m[2]);
      // No image is loaded from anywhere: a server's own emoji reads as its name.
      else if ((m = sticky(CUSTOM_EMOJI, i))) node = h("span.custom-emoji", { title: `:${m[1]}:` }, `:${m[1]}:`);
      else if (!noLinks && (m = sticky(ANGLE_URL, i))) {
        const url = safeUrl(m[1]);
        node = url ? linkNode(url, m[1]) : null;
      }
      if (node) { push(node); i += m[0].length; continue; }
    }
    if (c === "@" && (src.startsWith("@everyone", i) || src.startsWith("@here", i))) {
      const word = src.startsWith("@everyone", i) ? "@everyone" : "@here";
      push(tokens.everyone(word));
      i += word.length;
      continue;
    }
    if (c === "[" && !noLinks && depth < MAX_DEPTH) {
      const link = maskedLink(src, i);
      if (link) {
        push(linkNode(link.url, inline(link.text, depth + 1, tokens, true), link.url));
        i = link.end;
        continue;
      }
    }
    if (c === "h" && !noLinks && (src.startsWith("https://", i) || src.startsWith("http://", i))) {
      let e = i;
      while (e < n && !SPACE.test(src[e]) && src[e] !== "<") e++;
      const whole = src.slice(i, e);
      const text = whole.slice(0, urlLength(whole));
      const url = safeUrl(text);
      if (url && text.length > text.indexOf("//") + 2) {
        // What follows the link goes on as text.
        push(linkNode(text));
        i += text.length;
        continue;
      }
    }
    buf += c;
    i++;
  }
  if (buf) out.push(buf);
  return out;
}

/**
 * `[text](https://…)` at `i`: its text, URL and end, or null. The text
 * holds no brackets and the URL no spaces; parentheses in the URL must
 * balance. Only http(s) URLs count: anything else stays text.
 */
function maskedLink(src, i) {
  let k = i + 1;
  while (k < src.length && k - i < 512 && src[k] !== "]" && src[k] !== "[" && src[k] !== "\n") k++;
  if (src[k] !== "]" || k === i + 1 || src[k + 1] !== "(") return null;
  let e = k + 2;
  let open = 0;
  for (; e < src.length && e - k < 2048; e++) {
    const c = src[e];
    // A space or a bracket cannot be in it: "[a](" over and over costs a step each.
    if (SPACE.test(c) || c === "[" || c === "]") return null;
    if (c === "(") open++;
    else if (c === ")") { if (open === 0) break; open--; }
  }
  if (src[e] !== ")") return null;
  let raw = src.slice(k + 2, e);
  if (raw.startsWith("<") && raw.endsWith(">")) raw = raw.slice(1, -1);
  const url = safeUrl(raw);
  if (!url || !src.slice(i + 1, k).trim()) return null;
  return { text: src.slice(i + 1, k), url, end: e + 1 };
}

// ---- blocks ----

/** A fenced code block's body: "```lang\ncode```" gives the language apart. */
function codeBlock(body) {
  let lang = "";
  const nl = body.indexOf("\n");
  if (nl > 0 && nl <= 32 && /^[A-Za-z0-9_+\-.#]+$/.test(body.slice(0, nl))) {
    lang = body.slice(0, nl);
    body = body.slice(nl + 1);
  }
  body = body.replace(/^\n+/, "");
  while (body.endsWith("\n")) body = body.slice(0, -1);
  return h("div.code-block", {},
    lang ? h("span.code-lang", {}, lang) : null,
    h("pre", {}, h("code", { dataset: lang ? { lang } : undefined }, body)));
}

/**
 * Block markdown: code blocks (anywhere), and at a line's start quotes
 * ("> " lines, or ">>> " for the rest; not inside a quote), headers and
 * lists; other lines are inline text, their newlines kept.
 */
function blocks(src, depth, tokens, quotes, state) {
  const out = [];
  let para = "";
  // Before a block, the newline that ends the text is the block's edge.
  const flush = () => {
    const text = para.endsWith("\n") ? para.slice(0, -1) : para;
    para = "";
    if (text) out.push(...inline(text, depth, tokens));
  };
  const n = src.length;
  let pos = 0;
  let midLine = false;
  const lineEnd = (from) => { const e = src.indexOf("\n", from); return e < 0 ? n : e; };
  while (pos < n) {
    const end = lineEnd(pos);
    const line = src.slice(pos, end);
    if (!midLine) {
      if (quotes && line.startsWith(">>> ")) {
        flush();
        out.push(h("blockquote", {}, blocks(src.slice(pos + 4), depth + 1, tokens, false, state)));
        return out;
      }
      if (quotes && line.startsWith("> ")) {
        const lines = [];
        let q = pos;
        while (q < n) {
          const e = lineEnd(q);
          if (!src.startsWith("> ", q)) break;
          lines.push(src.slice(q + 2, e));
          q = e + 1;
        }
        flush();
        out.push(h("blockquote", {}, blocks(lines.join("\n"), depth + 1, tokens, false, state)));
        pos = q;
        continue;
      }
      const head = HEADING.exec(line);
      if (head && !line.includes("```")) {
        flush();
        out.push(h(`h${head[1].length}.md-heading`, {}, inline(line.slice(head[0].length), depth, tokens)));
        pos = end + 1;
        continue;
      }
      if (LIST_ITEM.test(line) && !line.includes("```")) {
        const ordered = /^\s*\d/.test(line);
        const items = [];
        let q = pos;
        while (q < n) {
          const e = lineEnd(q);
          const l = src.slice(q, e);
          const item = LIST_ITEM.exec(l);
          if (!item || /^\d/.test(item[2]) !== ordered || l.includes("```")) break;
          items.push(h(`li${item[1] ? ".nested" : ""}`, {}, inline(l.slice(item[0].length), depth, tokens)));
          q = e + 1;
        }
        flush();
        const start = ordered ? parseInt(LIST_ITEM.exec(line)[2], 10) : null;
        out.push(h(ordered ? "ol.md-list" : "ul.md-list", { start: start && start !== 1 ? start : null }, items));
        pos = q;
        continue;
      }
    }
    // A fence in this line with a closer further on: text, the block, and
    // on after it (on the same line, which then starts no block).
    const fence = state.noFence ? -1 : line.indexOf("```");
    if (fence >= 0) {
      const close = src.indexOf("```", pos + fence + 3);
      if (close < 0) {
        state.noFence = true;
      } else if (src.slice(pos + fence + 3, close).replace(/^[A-Za-z0-9_+\-.#]*\n/, "").trim()) {
        para += src.slice(pos, pos + fence);
        flush();
        out.push(codeBlock(src.slice(pos + fence + 3, close)));
        pos = close + 3;
        midLine = src[pos] !== "\n";
        if (!midLine) pos++;
        continue;
      }
    }
    para += end < n ? `${line}\n` : line;
    pos = end + 1;
    midLine = false;
  }
  if (para) {
    const text = para;
    para = "";
    out.push(...inline(text, depth, tokens));
  }
  return out;
}

/**
 * The nodes of a message's markdown. `tokens` makes the nodes of mentions:
 * { user(id), role(id), channel(id), everyone(word) }.
 */
export function renderMarkdown(text, tokens) {
  return blocks(text, 0, tokens, true, { noFence: false });
}
