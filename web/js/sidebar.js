// The server rail and the channel list: categories, text channels with
// unread marks, voice channels with who is in them (and who speaks); in the
// DM home, the conversations, marked when a call is in progress there.

import { $, avatar, fill, h, icon, initials } from "./dom.js";
import { openChannelSettings } from "./channelsettings.js";
import { iconUrl, leaveGuild, mayOpenServerSettings, openServerSettings } from "./serversettings.js";
import { HOME, PERM, callMembers, can, channelLabel, channelMuted, displayName, guild, idCmp, mentionCount, state, voiceMembers } from "./state.js";

const BASE_TITLE = document.title;

/** A red count of unread mentions, or nothing. */
function badge(n) {
  return n > 0 ? h("span.mention-badge", { "aria-hidden": "true" }, n > 99 ? "99+" : String(n)) : null;
}

const mentionsText = (n) => (n > 0 ? `, ${n} mention${n === 1 ? "" : "s"}` : "");

let actions = {};

/** `acts`: {selectGuild(id), selectChannel(id), deleteChannel(id)} */
export function initSidebar(acts) {
  actions = acts;
  // The server's settings, beside its other header buttons (shown by renderChannels).
  const gear = h("button.small", { type: "button", id: "server-settings", "aria-label": "Server settings", title: "Server settings", "aria-haspopup": "dialog", hidden: true, onclick: () => openServerSettings() }, icon("gear"));
  // Members who may not open the settings leave from the header instead.
  const leave = h("button.small", { type: "button", id: "leave-server", title: "Leave server", "aria-haspopup": "dialog", hidden: true, onclick: () => { const g = guild(); if (g) leaveGuild(g); } }, "Leave");
  $("create-channel").before(gear, leave);
}

/** Categories the user folded, remembered in this browser. */
const collapsed = new Set(JSON.parse(localStorage.getItem("hearth.collapsed") || "[]"));

function toggleCategory(id) {
  if (collapsed.has(id)) collapsed.delete(id);
  else collapsed.add(id);
  localStorage.setItem("hearth.collapsed", JSON.stringify([...collapsed]));
  renderChannels(lastCall);
  const again = document.getElementById(`category-toggle-${id}`);
  if (again) again.focus();
}

let lastCall = null;

/** The gear opening a channel's (or category's) settings, for those with Manage Channels. */
function settingsButton(g, c) {
  if (!can(PERM.MANAGE_CHANNELS, g)) return null;
  const what = c.type === 4 ? "category" : "channel";
  return h("button.channel-settings.small", {
    type: "button", "aria-label": `Edit ${what} ${c.name}`, title: `Edit ${what}`, "aria-haspopup": "dialog",
    onclick: (e) => openChannelSettings(c.id, e.currentTarget),
  }, icon("gear"));
}

export function renderGuilds() {
  const list = $("guild-list");
  const guilds = [...state.guilds.values()].sort((a, b) => a.name.localeCompare(b.name));
  const dmUnread = [...state.dms.keys()].some((id) => state.unread.has(id));
  const dmMentions = mentionCount(state.dms.keys());
  const home = h(`button.guild-button.home-button${dmUnread ? ".unread" : ""}`, {
    type: "button",
    "aria-label": `${dmUnread ? "Direct Messages (unread messages)" : "Direct Messages"}${mentionsText(dmMentions)}`,
    title: "Direct Messages",
    "aria-current": state.guildId === HOME ? "true" : "false",
    onclick: () => actions.selectGuild(HOME),
  }, "DM", badge(dmMentions));
  let total = dmMentions;
  fill(list, h("li", {}, home), ...guilds.map((g) => {
    const unread = [...g.channels.keys()].some((id) => state.unread.has(id));
    const mentions = mentionCount(g.channels.keys());
    total += mentions;
    const button = h("button.guild-button", {
      type: "button",
      "aria-label": `${unread ? `${g.name} (unread messages)` : g.name}${mentionsText(mentions)}`,
      title: g.name,
      "aria-current": g.id === state.guildId ? "true" : "false",
      dataset: { guild: g.id },
      onclick: () => actions.selectGuild(g.id),
    }, iconUrl(g) ? h("img.guild-icon", { src: iconUrl(g), alt: "" }) : initials(g.name), badge(mentions));
    if (unread) button.classList.add("unread");
    return h("li", {}, button);
  }));
  // The tab says how many mentions wait, as Discord's does.
  document.title = total > 0 ? `(${total}) ${BASE_TITLE}` : BASE_TITLE;
}

/** One person in a voice channel or a DM's call (`guildId` null). */
function voiceUser(guildId, v, call) {
  const speaking = call && call.channelId === v.channel_id && call.speaking.has(v.user_id);
  const flags = [v.self_mute || v.mute ? "muted" : "", v.self_deaf || v.deaf ? "deafened" : "", v.self_video ? "camera on" : "", v.self_stream ? "sharing their screen" : ""].filter(Boolean);
  return h(`li.voice-user${speaking ? ".speaking" : ""}`, { dataset: { user: v.user_id, speaking: String(!!speaking) } },
    avatar(displayName(guildId, v.user_id)),
    h("span", {}, displayName(guildId, v.user_id)),
    v.self_stream ? h("span.live-badge", { "aria-hidden": "true" }, "LIVE") : null,
    flags.length ? h("span.flags", { title: flags.join(", ") }, `(${flags.join(", ")})`) : null);
}

function channelItem(g, c, call) {
  const current = c.id === state.channelId;
  const unread = c.type === 0 && state.unread.has(c.id);
  const open = h("button.channel-open", {
    type: "button",
    "aria-current": current ? "true" : "false",
    "aria-label": `${c.type === 2 ? "voice channel" : "text channel"} ${c.name}${unread ? ", unread messages" : ""}${mentionsText(state.mentions.get(c.id))}${channelMuted(g.id, c.id) ? ", muted" : ""}`,
    onclick: () => actions.selectChannel(c.id),
  }, icon(c.type === 2 ? "speaker" : "hash"), c.name, badge(state.mentions.get(c.id)));
  const muted = c.type !== 4 && channelMuted(g.id, c.id);
  const row = h(`div.channel${unread ? ".unread" : ""}${muted ? ".muted" : ""}`, { dataset: { channel: c.id, type: String(c.type) } }, open,
    settingsButton(g, c),
    can(PERM.MANAGE_CHANNELS, g)
      ? h("button.channel-delete.small", { type: "button", "aria-label": `Delete channel ${c.name}`, title: "Delete channel", onclick: () => actions.deleteChannel(c.id) }, "✕")
      : null);
  const items = [row];
  if (c.type === 2) {
    const people = voiceMembers(g, c.id);
    if (people.length) {
      items.push(h("ul.voice-users", { "aria-label": `In ${c.name}` }, people.map((v) => voiceUser(g.id, v, call))));
    }
  }
  return h("li", {}, items);
}

/** The DM home's list: conversations, the newest first; a call in progress is marked, with who is in it. */
function renderDms(call) {
  const list = $("channel-list");
  $("guild-name").textContent = "Direct Messages";
  $("guild-name").title = "";
  $("invite-button").hidden = true;
  $("notify-button").hidden = true;
  $("create-channel").hidden = true;
  const newest = (c) => c.last_message_id || c.id;
  const dms = [...state.dms.values()].sort((a, b) => idCmp(newest(b), newest(a)));
  if (!dms.length) {
    fill(list, h("p.dm-empty", {}, "No conversations yet. Open a member's profile in a server and choose Message."));
    return;
  }
  fill(list, h("ul", { "aria-label": "Direct messages" }, dms.map((c) => {
    const unread = state.unread.has(c.id);
    const label = channelLabel(c);
    const inCall = state.calls.has(c.id);
    const people = callMembers(c.id);
    const row = h(`div.channel${unread ? ".unread" : ""}${inCall ? ".in-call" : ""}`, { dataset: { channel: c.id, type: String(c.type), call: String(inCall) } },
      h("button.channel-open", {
        type: "button",
        "aria-current": c.id === state.channelId ? "true" : "false",
        "aria-label": `${c.type === 1 ? "direct message with" : "group"} ${label.replace(/^@/, "")}${inCall ? ", call in progress" : ""}${unread ? ", unread messages" : ""}${mentionsText(state.mentions.get(c.id))}`,
        onclick: () => actions.selectChannel(c.id),
      }, avatar(label.replace(/^@/, "")), label,
      inCall ? h("span.call-badge", { title: "Call in progress", "aria-hidden": "true" }, icon("phone")) : null,
      badge(state.mentions.get(c.id))));
    return h("li", {}, row,
      people.length ? h("ul.voice-users", { "aria-label": `In the call with ${label.replace(/^@/, "")}` }, people.map((v) => voiceUser(null, v, call))) : null);
  })));
}

export function renderChannels(call) {
  lastCall = call;
  $("server-settings").hidden = state.guildId === HOME || !mayOpenServerSettings(guild());
  $("leave-server").hidden = state.guildId === HOME || !guild() || mayOpenServerSettings(guild()) || guild().owner_id === state.me.id;
  if (state.guildId === HOME) { renderDms(call); return; }
  const g = guild();
  const list = $("channel-list");
  $("guild-name").textContent = g ? g.name : "No server";
  $("guild-name").title = g ? g.name : "";
  $("invite-button").hidden = !g;
  $("notify-button").hidden = !g;
  $("create-channel").hidden = !g || !can(PERM.MANAGE_CHANNELS, g);
  if (!g) { fill(list); return; }
  const categories = g.channelOrder.filter((c) => c.type === 4);
  const loose = g.channelOrder.filter((c) => c.type !== 4 && !(c.parent_id && g.channels.has(c.parent_id)));
  // Text channels first, then voice, as Discord lists them.
  const order = (cs) => [...cs.filter((c) => c.type === 0), ...cs.filter((c) => c.type === 2)];
  const sections = [h("ul", { "aria-label": "Channels" }, order(loose).map((c) => channelItem(g, c, call)))];
  for (const cat of categories) {
    const folded = collapsed.has(cat.id);
    // Folded, a category still shows the channel open now, as Discord's does.
    const children = order(g.channelOrder.filter((c) => c.parent_id === cat.id)).filter((c) => !folded || c.id === state.channelId);
    const headingId = `category-${cat.id}`;
    sections.push(h(`section.category${folded ? ".collapsed" : ""}`, { "aria-labelledby": headingId, dataset: { channel: cat.id } },
      h("h3.category-name", {},
        h("button.category-toggle", {
          type: "button", id: `category-toggle-${cat.id}`, "aria-expanded": String(!folded),
          onclick: () => toggleCategory(cat.id),
        }, h("span.chevron", { "aria-hidden": "true" }, folded ? "▸" : "▾"), h("span", { id: headingId }, cat.name)),
        settingsButton(g, cat),
        can(PERM.MANAGE_CHANNELS, g)
          ? h("button.channel-delete.small", { type: "button", "aria-label": `Delete category ${cat.name}`, title: "Delete category", onclick: () => actions.deleteChannel(cat.id) }, "✕")
          : null),
      h("ul", {}, children.map((c) => channelItem(g, c, call)))));
  }
  fill(list, sections);
}
