// The voice view: a tile per participant (video when their camera is on,
// a ring while the server says they speak), and the voice panel's buttons.
// A guild's voice channel fills the main column with it; a DM's call shows
// it above the conversation.

import { $, avatar, h } from "./dom.js";
import { callMembers, channel, channelLabel, displayName, guild, isPrivate, state, voiceMembers } from "./state.js";

/** user id -> {li, video, name, quality} of the tiles on screen */
const tiles = new Map();

/** The call the tiles belong to, for the size watcher. */
let shownCall = null;

// The app's one-column layout (app.css).
const phoneLayout = window.matchMedia("(max-width: 760px)");

/**
 * The quality a tile of `width` CSS pixels asks of a simulcast camera.
 * Web clients send layers 240, 480 and 960 pixels wide (voice.js): a
 * tile gets the smallest that fills it, and on a phone the lowest, which
 * spares its data and battery on a screen where little more would show.
 */
function qualityFor(width) {
  if (phoneLayout.matches || width <= 240) return "low";
  return width <= 480 ? "medium" : "high";
}

// Tiles change size with the window, the layout and the number of
// people; a change of size class is a new quality asked (op 42).
const sizeWatch = new ResizeObserver((entries) => {
  for (const e of entries) {
    const tile = tiles.get(e.target.dataset.user);
    if (!tile) continue;
    tile.quality = qualityFor(e.contentRect.width);
    if (shownCall && tile.channelId === shownCall.channelId) shownCall.wantQuality(e.target.dataset.user, tile.quality);
  }
});

function trackOf(call, userId, v) {
  if (!call || call.channelId !== v.channel_id) return null;
  if (userId === state.me.id) return call.videoTrack;
  const r = call.remote.get(userId);
  return v.self_video && r && r.video && r.video.readyState === "live" ? r.video : null;
}

function updateTile(tile, guildId, v, call) {
  const userId = v.user_id;
  const name = displayName(guildId, userId);
  const flags = [v.self_mute || v.mute ? "muted" : "", v.self_deaf || v.deaf ? "deafened" : ""].filter(Boolean);
  tile.name.textContent = flags.length ? `${name} (${flags.join(", ")})` : name;
  const speaking = !!call && call.channelId === v.channel_id && call.speaking.has(userId);
  tile.li.classList.toggle("speaking", speaking);
  tile.li.dataset.speaking = String(speaking);
  if (speaking) tile.li.dataset.spoke = "true";
  tile.li.setAttribute("aria-label", `${name}${flags.length ? `, ${flags.join(", ")}` : ""}${speaking ? ", speaking" : ""}`);
  const track = trackOf(call, userId, v);
  const current = tile.video.srcObject && tile.video.srcObject.getVideoTracks()[0];
  if (track && current !== track) {
    tile.video.srcObject = new MediaStream([track]);
    tile.video.play().catch(() => {});
  } else if (!track && tile.video.srcObject) {
    tile.video.srcObject = null;
  }
  tile.video.hidden = !track;
  tile.avatar.hidden = !!track;
  tile.li.dataset.video = String(!!track);
}

/** Whether the place being looked at shows the call view: a voice channel, or a DM with a call in progress (or joined). */
export function callShown(call) {
  const c = channel();
  if (!c) return false;
  if (c.type === 2) return true;
  return isPrivate(c) && ((!!call && call.channelId === c.id) || state.calls.has(c.id));
}

/** Names the call's others: "ada", "ada and bob", "ada, bob and cy". */
export function names(ids) {
  const list = ids.map((id) => displayName(null, id));
  return list.length > 1 ? `${list.slice(0, -1).join(", ")} and ${list.at(-1)}` : list.join("");
}

/** Renders the call view of the voice channel, or the DM's call, being looked at. */
export function renderCall(call) {
  const c = channel();
  if (!c) return;
  const dm = isPrivate(c);
  const g = dm ? null : guild();
  if (!dm && (!g || c.type !== 2)) return;
  if (!dm) {
    $("channel-title").textContent = c.name;
    $("channel-topic").textContent = "";
  }
  $("call-view").classList.toggle("dm-call", dm);
  const inThis = call && call.channelId === c.id;
  const people = dm ? callMembers(c.id) : voiceMembers(g, c.id);
  // A DM's call is joined from the header's button (dmcall.js).
  $("call-join").hidden = inThis || dm;
  $("call-controls").hidden = !inThis;
  let hint = inThis ? call.status
    : people.length ? `${people.length} in ${dm ? "the call" : "this channel"}.` : "No one is here yet.";
  if (dm && inThis) {
    const ringing = ((state.calls.get(c.id) || {}).ringing || []).filter((id) => id !== state.me.id);
    if (ringing.length) hint += ` · Ringing ${names(ringing)}…`;
  }
  $("call-hint").textContent = hint;
  shownCall = inThis ? call : null;
  const list = $("tiles");
  const present = new Set(people.map((v) => v.user_id));
  for (const [userId, tile] of tiles) {
    if (!present.has(userId) || tile.channelId !== c.id) {
      tile.video.srcObject = null;
      sizeWatch.unobserve(tile.li);
      tile.li.remove();
      tiles.delete(userId);
    }
  }
  const guildId = g ? g.id : null;
  for (const v of people) {
    let tile = tiles.get(v.user_id);
    if (!tile) {
      const name = displayName(guildId, v.user_id);
      const video = h("video", { autoplay: true, playsinline: true, "aria-hidden": "true" });
      // Our own preview must not echo back.
      video.muted = true;
      const av = avatar(name);
      const label = h("span.tile-name", {});
      const li = h("li.tile", { dataset: { user: v.user_id } }, video, av, label);
      tile = { li, video, avatar: av, name: label, channelId: c.id };
      tiles.set(v.user_id, tile);
      list.append(li);
      if (v.user_id !== state.me.id) sizeWatch.observe(li);
    }
    updateTile(tile, guildId, v, call);
    // A call that started after the tile was sized learns its size here.
    if (inThis && tile.quality && v.user_id !== state.me.id) call.wantQuality(v.user_id, tile.quality);
  }
}

/** The voice panel under the channel list. */
export function renderVoicePanel(call) {
  const panel = $("voice-panel");
  panel.hidden = !call;
  if (!call) return;
  const c = channel(call.channelId);
  const g = state.guilds.get(call.guildId);
  $("voice-status").textContent = call.status;
  $("voice-channel-name").textContent = call.guildId
    ? `${c ? c.name : "voice"} / ${g ? g.name : ""}`
    : `${c ? channelLabel(c) : "call"} / Direct Messages`;
  // The labels stay; aria-pressed (and the colour) says whether it is on.
  const pressed = { mute: call.selfMute, deafen: call.selfDeaf, camera: call.selfVideo };
  for (const b of document.querySelectorAll("[data-action]")) {
    if (b.dataset.action in pressed) b.setAttribute("aria-pressed", String(pressed[b.dataset.action]));
  }
}
