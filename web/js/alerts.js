// Alerts and notification settings: a desktop notification and a short
// sound for the messages the user asked to hear of while the tab is hidden
// (state.js decides which: `alertsMe`), the server's "Notification
// settings" dialog, and muting a channel from its header.

import { api } from "./api.js";
import { $, dialog, h, icon, notify } from "./dom.js";
import { plainContent } from "./markup.js";
import { apply, channel, channelLabel, channelMuted, channelOverride, displayName, guild, guildSettings, isPrivate, on, state, thread } from "./state.js";
import { openThread } from "./threads.js";

let actions = {};
let audio = null;
let lastSound = 0;
/** Alerts raised since the page loaded (the tests read it). */
export const alertsShown = [];

/** A soft two-note chime, made here: no sound file to fetch. */
function chime() {
  const now = Date.now();
  // A burst of messages chimes once.
  if (now - lastSound < 2000) return;
  lastSound = now;
  try {
    audio = audio || new AudioContext();
    const t = audio.currentTime;
    for (const [i, freq] of [[0, 660], [1, 880]]) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, t + i * 0.12);
      gain.gain.exponentialRampToValueAtTime(0.15, t + i * 0.12 + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + i * 0.12 + 0.2);
      osc.connect(gain).connect(audio.destination);
      osc.start(t + i * 0.12);
      osc.stop(t + i * 0.12 + 0.22);
    }
  } catch {
    // No audio here (autoplay refused, no device): the notification remains.
  }
}

function alert(m) {
  const g = m.guild_id && state.guilds.get(m.guild_id);
  const who = displayName(m.guild_id, m.author.id);
  // A thread's message names the channel and the thread, and opens both.
  const t = thread(m.channel_id);
  const c = g ? g.channels.get(t ? t.parent_id : m.channel_id) : null;
  const where = c ? `${channelLabel(c)}${t ? ` › ${t.name}` : ""}` : "#?";
  const title = g ? `${who} (${where}, ${g.name})` : who;
  const body = plainContent(m).slice(0, 200);
  alertsShown.push({ title, body, channelId: m.channel_id });
  chime();
  if (!("Notification" in window) || Notification.permission !== "granted") return;
  // One per channel at a time: a burst replaces rather than piles up.
  const n = new Notification(title, { body, tag: m.channel_id, silent: true });
  n.onclick = () => {
    window.focus();
    actions.selectChannel(c ? c.id : m.channel_id);
    if (t) openThread(t.id);
    n.close();
  };
}

async function saveSettings(guildId, change) {
  const saved = await api("PATCH", `/users/@me/guilds/${guildId}/settings`, change);
  // The gateway's USER_GUILD_SETTINGS_UPDATE follows; apply it now here.
  apply("USER_GUILD_SETTINGS_UPDATE", saved);
  return saved;
}

const MUTE_CHOICES = [
  ["", "Not muted"], ["900", "For 15 minutes"], ["3600", "For 1 hour"], ["28800", "For 8 hours"],
  ["86400", "For 24 hours"], ["-1", "Until I turn it back on"],
];

function muteChange(window) {
  if (window === "") return { muted: false, mute_config: null };
  const seconds = Number(window);
  const end = seconds > 0 ? new Date(Date.now() + seconds * 1000).toISOString() : null;
  return { muted: true, mute_config: { end_time: end, selected_time_window: seconds } };
}

/** Whether desktop notifications are on, or a button to ask for them (also in the user settings). */
export function permissionLine() {
  if (!("Notification" in window)) return h("p", {}, "This browser cannot show desktop notifications.");
  if (Notification.permission === "granted") return h("p", {}, "Desktop notifications are on for this browser.");
  if (Notification.permission === "denied") return h("p", {}, "Desktop notifications are blocked in this browser's site settings.");
  const allow = h("button.small", { type: "button" }, "Allow desktop notifications");
  allow.addEventListener("click", async () => {
    const answer = await Notification.requestPermission();
    allow.replaceWith(h("span", {}, answer === "granted" ? "Desktop notifications are on." : "Desktop notifications stay off."));
  });
  return h("p", {}, allow);
}

const refusesDms = (guildId) => state.dmPrivacy.restricted_guilds.includes(guildId);

async function openSettings() {
  const g = guild();
  if (!g) return;
  const s = guildSettings(g.id);
  const muted = s.muted ? String((s.mute_config && s.mute_config.selected_time_window) ?? -1) : "";
  await dialog({
    title: `Notification settings for ${g.name}`,
    ok: "Save",
    body: [permissionLine(), h("p.hint", {}, "Alerts come while this tab is hidden: every direct message, and from this server what you choose here.")],
    fields: [
      { name: "level", label: "Notify me of", value: String(s.message_notifications),
        options: [["0", "All messages"], ["1", "Only @mentions"], ["2", "Nothing"]] },
      { name: "mute", label: "Mute the server", value: MUTE_CHOICES.some(([v]) => v === muted) ? muted : "-1", options: MUTE_CHOICES },
      { name: "everyone", label: "@everyone and @here", value: s.suppress_everyone ? "1" : "0",
        options: [["0", "Notify me"], ["1", "Don't notify me"]] },
      { name: "dms", label: "Direct messages from members of this server", value: refusesDms(g.id) ? "0" : "1",
        options: [["1", "Allowed"], ["0", "Not allowed"]] },
    ],
    submit: async (v) => {
      const saved = await saveSettings(g.id, {
        message_notifications: Number(v.level),
        suppress_everyone: v.everyone === "1",
        ...muteChange(v.mute),
      });
      const refuse = v.dms === "0";
      if (refuse !== refusesDms(g.id)) {
        const others = state.dmPrivacy.restricted_guilds.filter((id) => id !== g.id);
        const privacy = await api("PATCH", "/users/@me/settings", { restricted_guilds: refuse ? [...others, g.id] : others });
        apply("USER_SETTINGS_UPDATE", privacy);
      }
      return saved;
    },
  });
}

async function toggleChannelMute() {
  const g = guild();
  const c = channel();
  if (!g || !c || isPrivate(c)) return;
  const o = channelOverride(g.id, c.id);
  const mute = !(o && o.muted);
  try {
    await saveSettings(g.id, { channel_overrides: { [c.id]: { muted: mute, mute_config: null } } });
  } catch (err) {
    notify(`Couldn't change the channel's notifications: ${err.message}`);
  }
}

/** The channel header's mute button says what a click will do. */
export function renderChannelMute() {
  const button = $("toggle-mute");
  const c = channel();
  const g = guild();
  button.hidden = !g || !c || isPrivate(c) || c.type === 2;
  if (button.hidden) return;
  const muted = channelMuted(g.id, c.id);
  button.textContent = muted ? "Unmute" : "Mute";
  button.setAttribute("aria-pressed", String(muted));
  button.setAttribute("aria-label", muted ? `Unmute ${channelLabel(c)} (muted now)` : `Mute ${channelLabel(c)}`);
}

export function initAlerts(a) {
  actions = a;
  on("alert", alert);
  on("guild-settings", () => { renderChannelMute(); actions.renderChannels(); });
  $("notify-button").replaceChildren(icon("bell"));
  $("notify-button").addEventListener("click", openSettings);
  $("toggle-mute").addEventListener("click", toggleChannelMute);
}
