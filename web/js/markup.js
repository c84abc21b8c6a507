// Message content and embeds as DOM nodes: markdown (markdown.js),
// mentions become highlighted names, links become links; nothing is ever
// parsed as HTML, and nothing (no image, no preview) is loaded from
// another site.

import { attachmentsText } from "./attachments.js";
import { h } from "./dom.js";
import { fullDate, linkNode, renderMarkdown, urlLength } from "./markdown.js";
import { displayName, emit, state } from "./state.js";

/** Whether the signed-in user is mentioned by `m`. */
export function mentionsMe(m) {
  if (!state.me) return false;
  if (m.mention_everyone) return true;
  if ((m.mentions || []).some((u) => u.id === state.me.id)) return true;
  const g = state.guilds.get(m.guild_id);
  const member = g && g.members.get(state.me.id);
  return !!member && (m.mention_roles || []).some((r) => member.roles.includes(r));
}

export { urlLength };

const link = (url) => linkNode(url);

/** The nodes of a message's content: its markdown (markdown.js), mentions by name. */
export function renderContent(m) {
  const g = state.guilds.get(m.guild_id);
  return renderMarkdown(m.content || "", {
    user(id) {
      const u = (m.mentions || []).find((x) => x.id === id);
      const name = u ? (u.global_name || u.username) : displayName(m.guild_id, id);
      const me = !!state.me && state.me.id === id;
      return h(`span.mention${me ? ".mention-me" : ""}`, { dataset: { user: id } }, `@${name}`);
    },
    role(id) {
      const r = g && g.roles.find((x) => x.id === id);
      return h("span.mention", { dataset: { role: id } }, `@${r ? r.name : "role"}`);
    },
    channel(id) {
      const c = g && g.channels.get(id);
      if (!c) return h("span.mention", {}, "#channel");
      // A link to the channel: the page opens it (main.js hears "open-channel").
      return h("a.mention.channel-mention", {
        href: `#${c.name}`, dataset: { channel: id },
        onclick: (e) => { e.preventDefault(); emit("open-channel", id); },
      }, `#${c.name}`);
    },
    everyone: (word) => h("span.mention", {}, word),
  });
}

/** One embed (docs/protocol.md §1.7). Images are shown as links. */
export function renderEmbed(e) {
  const box = h("div.embed", { role: "group", "aria-label": e.title ? `Embed: ${e.title}` : "Embed" });
  if (typeof e.color === "number") box.style.borderLeftColor = `#${e.color.toString(16).padStart(6, "0")}`;
  if (e.author && e.author.name) {
    box.append(h("div.embed-author", {}, e.author.url ? link(e.author.url) : e.author.name));
  }
  if (e.title) {
    box.append(h("div.embed-title", {}, e.url ? h("a", { href: e.url, target: "_blank", rel: "noopener noreferrer" }, e.title) : e.title));
  }
  if (e.description) box.append(h("div.embed-description.content", {}, e.description));
  if (e.fields && e.fields.length) {
    box.append(h("div.embed-fields", {}, e.fields.map((f) => h("div.embed-field", {},
      h("div.embed-field-name", {}, f.name), h("div.embed-field-value", {}, f.value)))));
  }
  for (const key of ["image", "thumbnail"]) {
    if (e[key] && e[key].url) box.append(h("div", {}, `${key}: `, link(e[key].url)));
  }
  if (e.footer && e.footer.text) box.append(h("div.embed-footer", {}, e.footer.text));
  return box;
}

/** A message time's title: the full date and time ("Monday, December 7, 2026 at 4:20 PM"). */
export const timeTitle = (iso) => fullDate(new Date(iso));

export function formatTime(iso) {
  const d = new Date(iso);
  const today = new Date();
  const time = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return d.toDateString() === today.toDateString() ? time : `${d.toLocaleDateString()} ${time}`;
}

/** How long, in words, as Discord says it ("a few seconds", "a minute", "5 minutes", "an hour"…). */
export function duration(ms) {
  const s = Math.round(ms / 1000);
  const m = Math.round(s / 60);
  const hours = Math.round(s / 3600);
  if (s < 45) return "a few seconds";
  if (s < 90) return "a minute";
  if (m < 45) return `${m} minutes`;
  if (s < 90 * 60) return "an hour";
  if (hours < 22) return `${hours} hours`;
  return s < 36 * 3600 ? "a day" : `${Math.round(s / 86400)} days`;
}

/**
 * A DM call's message (type 3) in words: "X started a call." while it goes
 * on; once ended, how long it lasted, or, to someone who was not in it,
 * that they missed it.
 */
export function callText(m) {
  const known = displayName(m.guild_id, m.author.id);
  const who = known !== "unknown" ? known : (m.author.global_name || m.author.username);
  const call = m.call || {};
  if (!call.ended_timestamp) return `${who} started a call.`;
  const lasted = duration(Date.parse(call.ended_timestamp) - Date.parse(m.timestamp));
  const took = state.me && (call.participants || []).includes(state.me.id);
  return took ? `${who} started a call that lasted ${lasted}.` : `You missed a call from ${who} that lasted ${lasted}.`;
}

/** A message's content as plain text, mentions by name (for previews); its files when it has no text. */
export function plainContent(m) {
  if (m.type === 3) return callText(m);
  // A spoiler stays hidden in previews and notifications; a code block's
  // language label is not part of its text.
  const box = h("div", {}, renderContent(m));
  for (const s of box.querySelectorAll(".spoiler")) s.replaceWith("▒▒▒▒");
  for (const l of box.querySelectorAll(".code-lang")) l.remove();
  return box.textContent || attachmentsText(m) || "embed";
}
