// Applications in the chat (docs/protocol.md §4.14–4.15): typing "/" in
// the composer lists the server's slash commands, picking one shows its
// options as fields, and sending uses it (POST /interactions). Components
// on messages (buttons, select menus) send component interactions, a modal
// an application opens is shown in the page's dialog, and reactions sit
// under each message.

import { api } from "./api.js";
import { $, dialog, fill, h, notify } from "./dom.js";
import { openEmojiPicker } from "./emojipicker.js";
import { displayName, guild, state } from "./state.js";

// Option types (Discord's numbers).
const OPT = { SUB: 1, GROUP: 2, STRING: 3, INTEGER: 4, BOOLEAN: 5, USER: 6, CHANNEL: 7, ROLE: 8, MENTIONABLE: 9, NUMBER: 10, ATTACHMENT: 11 };
// The index is asked for again after this long, so new commands appear.
const INDEX_TTL_MS = 30000;
// What the reaction picker offers.
export const QUICK_EMOJI = ["👍", "❤️", "😂", "🎉", "😮", "😢"];

const indexes = new Map();
let entries = [];
let highlighted = 0;
/** The command (or subcommand) chosen in the composer: {entry, guildId}. */
let picked = null;

/** The server's commands: cached a little while. */
async function indexOf(guildId) {
  const cached = indexes.get(guildId);
  if (cached && Date.now() - cached.at < INDEX_TTL_MS) return cached;
  const index = await api("GET", `/guilds/${guildId}/application-command-index`);
  const apps = new Map(index.applications.map((a) => [a.id, a]));
  const fresh = { at: Date.now(), entries: flatten(index.application_commands.filter((c) => c.type === 1), apps) };
  indexes.set(guildId, fresh);
  return fresh;
}

/** One entry per thing a user can run: subcommands count as their own. */
function flatten(commands, apps) {
  const out = [];
  for (const c of commands) {
    const app = apps.get(c.application_id);
    const base = { command: c, app: app ? app.name : "", path: [] };
    const opts = c.options || [];
    const subs = opts.filter((o) => o.type === OPT.SUB || o.type === OPT.GROUP);
    if (!subs.length) { out.push({ ...base, label: c.name, description: c.description, options: opts }); continue; }
    for (const s of subs) {
      if (s.type === OPT.SUB) {
        out.push({ ...base, label: `${c.name} ${s.name}`, description: s.description, path: [s], options: s.options || [] });
      } else {
        for (const sub of s.options || []) {
          out.push({ ...base, label: `${c.name} ${s.name} ${sub.name}`, description: sub.description, path: [s, sub], options: sub.options || [] });
        }
      }
    }
  }
  return out.sort((a, b) => a.label.localeCompare(b.label));
}

const picker = () => $("command-picker");
const optionsBox = () => $("command-options");

function closePicker() {
  picker().hidden = true;
  $("composer-input").removeAttribute("aria-activedescendant");
  entries = [];
}

/** As the composer changes: "/..." lists matching commands. */
async function refreshPicker() {
  const input = $("composer-input");
  const text = input.value;
  if (picked && !text.startsWith(`/${picked.entry.label}`)) unpick();
  const g = guild();
  if (picked || !g || !text.startsWith("/") || text.includes("\n")) { closePicker(); return; }
  let index;
  try {
    index = await indexOf(g.id);
  } catch (err) {
    notify(`Couldn't load the commands: ${err.message}`);
    return;
  }
  // Typing went on while the index loaded: the newest call renders.
  if (input.value !== text) return;
  const typed = text.slice(1).toLowerCase();
  entries = index.entries.filter((e) => e.label.startsWith(typed)).slice(0, 25);
  highlighted = 0;
  renderPicker();
}

function renderPicker() {
  const list = picker();
  if (!entries.length) { closePicker(); return; }
  fill(list, entries.map((e, i) => h(`li.command-entry${i === highlighted ? ".active" : ""}`, {
    id: `command-${i}`, role: "option", "aria-selected": i === highlighted ? "true" : "false",
    onmousedown: (ev) => { ev.preventDefault(); pick(e); },
  }, h("span.command-name", {}, `/${e.label}`), h("span.command-description", {}, e.description), h("span.command-app", {}, e.app))));
  list.hidden = false;
  $("composer-input").setAttribute("aria-activedescendant", `command-${highlighted}`);
}

function unpick() {
  picked = null;
  fill(optionsBox());
  optionsBox().hidden = true;
}

/** Fields for a command's options. */
function field(o, g) {
  const id = `option-${o.name}`;
  const label = h("label", { for: id }, `${o.name}${o.required ? " *" : ""}`, h("span.option-description", {}, ` ${o.description}`));
  const select = (pairs) => h("select", { id, name: o.name, required: o.required },
    o.required ? null : h("option", { value: "" }, "—"),
    pairs.map(([v, text]) => h("option", { value: v }, text)));
  let input;
  if (o.choices && o.choices.length) input = select(o.choices.map((c) => [String(c.value), c.name]));
  else if (o.type === OPT.BOOLEAN) input = select([["true", "yes"], ["false", "no"]]);
  else if (o.type === OPT.USER || o.type === OPT.MENTIONABLE) {
    input = select([...g.members.values()].map((m) => [m.user.id, displayName(g.id, m.user.id)]));
  } else if (o.type === OPT.ROLE) input = select(g.roles.filter((r) => r.id !== g.id).map((r) => [r.id, r.name]));
  else if (o.type === OPT.CHANNEL) {
    input = select([...g.channels.values()]
      .filter((c) => !o.channel_types || o.channel_types.includes(c.type))
      .map((c) => [c.id, c.name]));
  } else if (o.type === OPT.ATTACHMENT) input = h("input", { id, name: o.name, disabled: true, placeholder: "Files are not supported yet" });
  else {
    const numeric = o.type === OPT.INTEGER || o.type === OPT.NUMBER;
    input = h("input", {
      id, name: o.name, type: numeric ? "number" : "text", required: o.required, autocomplete: "off",
      step: o.type === OPT.NUMBER ? "any" : undefined, min: o.min_value, max: o.max_value,
      minlength: o.min_length, maxlength: o.max_length,
    });
  }
  input.dataset.optionType = String(o.type);
  return h("div.command-option", {}, label, input);
}

/** Chooses a command: the composer shows it, its options become fields. */
function pick(entry) {
  const g = guild();
  closePicker();
  picked = { entry, guildId: g.id };
  const input = $("composer-input");
  input.value = `/${entry.label} `;
  fill(optionsBox(), entry.options.map((o) => field(o, g)));
  optionsBox().hidden = entry.options.length === 0;
  const first = optionsBox().querySelector("input, select");
  (first || input).focus();
}

/** The options filled in, typed as the command wants them. */
function filledOptions() {
  const out = [];
  for (const el of optionsBox().querySelectorAll("input, select")) {
    if (el.disabled || el.value === "") continue;
    const type = Number(el.dataset.optionType);
    let value = el.value;
    if (type === OPT.INTEGER) value = parseInt(value, 10);
    else if (type === OPT.NUMBER) value = Number(value);
    else if (type === OPT.BOOLEAN) value = value === "true";
    out.push({ name: el.name, type, value });
  }
  return out;
}

/** Whether sending would run a command rather than post a message. */
export const commandPicked = () => picked !== null;

/** Runs the picked command with the options filled in. */
export async function runPicked() {
  const { entry, guildId } = picked;
  const missing = entry.options.filter((o) => o.required && !filledOptions().some((f) => f.name === o.name));
  if (missing.length) {
    notify(`Fill in ${missing.map((o) => o.name).join(", ")} first.`);
    return;
  }
  // Subcommands wrap the options, innermost last.
  let options = filledOptions();
  for (const level of [...entry.path].reverse()) options = [{ name: level.name, type: level.type, options }];
  const body = {
    type: 2, application_id: entry.command.application_id, guild_id: guildId,
    channel_id: state.channelId, nonce: String(Date.now()),
    data: { id: entry.command.id, name: entry.command.name, type: 1, options },
  };
  try {
    await api("POST", "/interactions", body);
    $("composer-input").value = "";
    unpick();
  } catch (err) {
    notify(`The command failed: ${err.message}`);
  }
}

/** Arrow keys, Enter/Tab and Escape while the picker is open. */
function pickerKeys(e) {
  if (e.key === "Escape" && picked) { e.preventDefault(); e.stopImmediatePropagation(); $("composer-input").value = ""; unpick(); return; }
  if (picker().hidden || !entries.length) return;
  if (e.key === "ArrowDown" || e.key === "ArrowUp") {
    e.preventDefault();
    e.stopImmediatePropagation();
    highlighted = (highlighted + (e.key === "ArrowDown" ? 1 : entries.length - 1)) % entries.length;
    renderPicker();
  } else if (e.key === "Enter" || e.key === "Tab") {
    e.preventDefault();
    e.stopImmediatePropagation();
    pick(entries[highlighted]);
  } else if (e.key === "Escape") {
    e.preventDefault();
    e.stopImmediatePropagation();
    closePicker();
  }
}

// ---- components ----

async function useComponent(m, c, values) {
  const body = {
    type: 3, application_id: m.application_id || m.author.id, guild_id: m.guild_id,
    channel_id: m.channel_id, message_id: m.id, nonce: String(Date.now()),
    data: { component_type: c.type, custom_id: c.custom_id, values },
  };
  try {
    await api("POST", "/interactions", body);
  } catch (err) {
    notify(`That didn't work: ${err.message}`);
  }
}

const BUTTON_STYLE = { 1: "primary", 2: "secondary", 3: "success", 4: "danger", 5: "link" };

function componentNode(m, c) {
  const emoji = c.emoji && c.emoji.name ? `${c.emoji.name} ` : "";
  if (c.type === 2 && c.style === 5) {
    return h("a.component-button.link", { href: c.url, target: "_blank", rel: "noopener noreferrer" }, `${emoji}${c.label || ""} ↗`);
  }
  if (c.type === 2) {
    return h(`button.component-button.${BUTTON_STYLE[c.style] || "secondary"}`, {
      type: "button", disabled: c.disabled, onclick: () => useComponent(m, c),
    }, `${emoji}${c.label || ""}`);
  }
  if (c.type === 3) {
    const sel = h("select.component-select", { "aria-label": c.placeholder || c.custom_id, disabled: c.disabled, multiple: (c.max_values || 1) > 1 },
      h("option", { value: "", disabled: true, selected: true }, c.placeholder || "Choose…"),
      (c.options || []).map((o) => h("option", { value: o.value }, o.label)));
    sel.addEventListener("change", () => useComponent(m, c, [...sel.selectedOptions].map((o) => o.value).filter(Boolean)));
    return sel;
  }
  if (c.type >= 5 && c.type <= 8) {
    // Users, roles, mentionables (both) and channels of this server.
    const g = guild(m.guild_id);
    if (!g) return null;
    const users = () => [...g.members.values()].map((x) => [x.user.id, displayName(g.id, x.user.id)]);
    const roles = () => g.roles.filter((r) => r.id !== g.id).map((r) => [r.id, `@${r.name}`]);
    const choices = c.type === 5 ? users()
      : c.type === 6 ? roles()
        : c.type === 7 ? [...users(), ...roles()]
          : [...g.channels.values()].filter((ch) => !c.channel_types || c.channel_types.includes(ch.type)).map((ch) => [ch.id, `#${ch.name}`]);
    const sel = h("select.component-select", { "aria-label": c.placeholder || c.custom_id, disabled: c.disabled, multiple: (c.max_values || 1) > 1 },
      h("option", { value: "", disabled: true, selected: true }, c.placeholder || "Choose…"),
      choices.map(([v, label]) => h("option", { value: v }, label)));
    sel.addEventListener("change", () => useComponent(m, c, [...sel.selectedOptions].map((o) => o.value).filter(Boolean)));
    return sel;
  }
  return h("span.component-unsupported", {}, "(not supported here)");
}

/** A message's action rows. */
export function renderComponents(m) {
  if (!m.components || !m.components.length) return null;
  return h("div.components", {}, m.components.map((row) =>
    h("div.component-row", { role: "group" }, (row.components || []).map((c) => componentNode(m, c)))));
}

// ---- reactions ----

const emojiPath = (emoji) => encodeURIComponent(emoji.id ? `${emoji.name}:${emoji.id}` : emoji.name);

export async function toggleReaction(m, emoji, mine) {
  const path = `/channels/${m.channel_id}/messages/${m.id}/reactions/${emojiPath(emoji)}/@me`;
  try {
    await api(mine ? "DELETE" : "PUT", path);
  } catch (err) {
    notify(`Couldn't react: ${err.message}`);
  }
}

/** The reactions under a message: each a button that adds or removes yours. */
export function renderReactions(m) {
  if (!m.reactions || !m.reactions.length) return null;
  return h("div.reactions", { role: "group", "aria-label": "Reactions" }, m.reactions.map((r) =>
    h(`button.reaction${r.me ? ".mine" : ""}`, {
      type: "button", "aria-pressed": r.me ? "true" : "false",
      "aria-label": `${r.emoji.name} ${r.count}`,
      onclick: () => toggleReaction(m, r.emoji, r.me),
    }, `${r.emoji.name} ${r.count}`)));
}

/** The small picker "React" opens; "More…" opens the whole emoji picker. */
export function reactionPicker(m, anchor) {
  const existing = document.querySelector(".reaction-picker");
  if (existing) existing.remove();
  const react = (e) => toggleReaction(m, { id: null, name: e }, false);
  const box = h("div.reaction-picker", { role: "menu", "aria-label": "Add a reaction" },
    QUICK_EMOJI.map((e) => h("button.small", {
      type: "button", role: "menuitem", "aria-label": `React with ${e}`,
      onclick: () => { box.remove(); react(e); },
    }, e)),
    h("button.small", {
      type: "button", role: "menuitem", "aria-label": "More emoji", "aria-haspopup": "dialog",
      onclick: (e) => {
        // Escape gives the focus back to the message's React, if it is still there.
        const back = anchor.querySelector("button") || $("composer-input");
        openEmojiPicker(e.currentTarget, react, { label: "Add a reaction", returnFocus: back });
        box.remove();
      },
    }, "More…"));
  anchor.after(box);
  box.querySelector("button").focus();
}

// ---- modals and outcomes ----

/** INTERACTION_MODAL_CREATE: the application asks the user to fill a form. */
export function openModal(d) {
  const inputs = [];
  for (const row of d.components || []) {
    const inner = row.type === 18 ? row.component : (row.components || [])[0];
    if (!inner || inner.type !== 4) continue;
    inputs.push({ row, inner, label: row.type === 18 ? row.label : inner.label });
  }
  dialog({
    title: d.title,
    ok: "Submit",
    // Named by position: a custom id could clash with the dialog's own ids.
    fields: inputs.map(({ inner, label }, i) => ({
      name: `modal-input-${i}`, label: label || inner.custom_id, value: inner.value || "",
      required: inner.required !== false, maxlength: inner.max_length,
      type: inner.style === 2 ? "textarea" : "text",
    })),
    submit: async (values) => {
      const components = inputs.map(({ row, inner }, i) => {
        const entered = { type: 4, id: inner.id, custom_id: inner.custom_id, value: values[`modal-input-${i}`] || "" };
        return row.type === 18 ? { type: 18, id: row.id, component: entered } : { type: 1, id: row.id, components: [entered] };
      });
      await api("POST", "/interactions", {
        type: 5, application_id: d.application_id, channel_id: d.channel_id, nonce: String(Date.now()),
        data: { id: d.id, custom_id: d.custom_id, components },
      });
      return true;
    },
  });
}

export function interactionFailed() {
  notify("The application did not respond.");
}

export function initCommands() {
  const input = $("composer-input");
  // Before the composer's own keys: the picker takes Enter while open.
  input.addEventListener("keydown", pickerKeys, true);
  input.addEventListener("input", refreshPicker);
  // Leaving the composer closes the list, unless focus came back (a click
  // on an entry keeps it: entries act on mousedown).
  input.addEventListener("blur", () => setTimeout(() => { if (document.activeElement !== input) closePicker(); }, 150));
}
