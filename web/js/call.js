// The voice view: a tile per participant (video when their camera is on,
// a ring while the server says they speak), a tile per shared screen, the
// stage (one tile shown large: a screen being shared, or the tile the user
// clicked), and the voice panel's buttons.
// A guild's voice channel fills the main column with it; a DM's call shows
// it above the conversation.

import { $, avatar, h } from "./dom.js";
import { setUserVolume, userVolume } from "./mic.js";
import { callMembers, channel, channelLabel, displayName, guild, isPrivate, state, voiceMembers } from "./state.js";

/** user id -> {li, video, name, quality} of the tiles on screen */
const tiles = new Map();

/** user id -> {li, video, name, channelId} of the shared screens on screen */
const screens = new Map();

/** The call the tiles belong to, for the size watcher. */
let shownCall = null;

/** The call renderCall last drew, to draw again when a tile is focused. */
let drawnCall = null;

/**
 * What the stage shows: null lets the newest screen someone else shares
 * take it; a tile's key (a user id, or `screen:<id>`) is the tile the user
 * clicked; "grid" is none (the user put the stage's tile back).
 */
let focus = null;

/** The others' screens shown at the last render, each with when it came (a count): the newest takes the stage. */
let screensBefore = new Map();
let screenCount = 0;

/** How many columns the grid has for `n` tiles (app.css reads data-cols). */
export const columnsFor = (n) => (n <= 1 ? 1 : n <= 4 ? 2 : n <= 9 ? 3 : 4);

/** Puts a tile on the stage, or back in the grid when it is there. */
function toggleStage(key, staged) {
  focus = staged ? "grid" : key;
  renderCall(drawnCall);
}

/** A click on a tile, or Enter or Space while it has the focus, stages it (not a click on its volume slider). */
function stageable(li, key) {
  li.tabIndex = 0;
  li.title = "Click to show large (again to put back)";
  li.addEventListener("click", (e) => {
    if (e.target.closest("input")) return;
    toggleStage(key, li.classList.contains("staged"));
  });
  li.addEventListener("keydown", (e) => {
    if (e.target !== li || (e.key !== "Enter" && e.key !== " ")) return;
    e.preventDefault();
    toggleStage(key, li.classList.contains("staged"));
  });
}

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

/** The screen `userId` shares in this call: one's own from the display capture, the others' while their frames arrive (screenshare.js). */
function screenOf(call, userId, v) {
  if (!call || call.channelId !== v.channel_id) return null;
  if (userId === state.me.id) return call.screenShare.video;
  const r = call.remote.get(userId);
  return call.screenWatch.live.has(userId) && r && r.screen && r.screen.readyState === "live" ? r.screen : null;
}

/** Shows `track` in a tile's video element (or nothing). */
function showTrack(video, track) {
  const current = video.srcObject && video.srcObject.getVideoTracks()[0];
  if (track && current !== track) {
    video.srcObject = new MediaStream([track]);
    video.play().catch(() => {});
  } else if (!track && video.srcObject) {
    video.srcObject = null;
  }
}

/** The shared screens' tiles, each after its sharer's own tile. */
function renderScreens(call, guildId, people, channelId) {
  const shown = new Map();
  for (const v of people) {
    const track = screenOf(call, v.user_id, v);
    if (track) shown.set(v.user_id, track);
  }
  for (const [userId, tile] of screens) {
    if (!shown.has(userId) || tile.channelId !== channelId) {
      tile.video.srcObject = null;
      tile.li.remove();
      screens.delete(userId);
    }
  }
  for (const [userId, track] of shown) {
    let tile = screens.get(userId);
    const name = displayName(guildId, userId);
    if (!tile) {
      const video = h("video", { autoplay: true, playsinline: true, "aria-hidden": "true" });
      // Its sound plays through the call's audio elements (voice.js).
      video.muted = true;
      const label = h("span.tile-name", {});
      // Not data-user: that names a person's own tile.
      const li = h("li.tile.screen", { dataset: { screen: userId } }, video, label);
      stageable(li, `screen:${userId}`);
      tile = { li, video, name: label, channelId };
      screens.set(userId, tile);
    }
    const owner = tiles.get(userId);
    if (owner && tile.li.previousElementSibling !== owner.li) owner.li.after(tile.li);
    tile.name.textContent = `${name}'s screen`;
    tile.li.setAttribute("aria-label", `${name}'s screen${tile.li.classList.contains("staged") ? ", shown large" : ""}`);
    showTrack(tile.video, track);
  }
}

/**
 * Which tile is on the stage, and the grid's columns for the rest: a
 * screen someone else starts sharing takes the stage (one's own would show
 * the screen inside itself), unless the user chose another tile since.
 */
function arrangeStage() {
  const keyed = new Map();
  for (const [userId, tile] of tiles) keyed.set(userId, tile.li);
  for (const [userId, tile] of screens) keyed.set(`screen:${userId}`, tile.li);
  const others = new Map();
  for (const id of screens.keys()) {
    if (id === state.me.id) continue;
    const key = `screen:${id}`;
    others.set(key, screensBefore.get(key) || (screenCount += 1));
  }
  if ([...others.keys()].some((k) => !screensBefore.has(k))) focus = null;
  screensBefore = others;
  if (focus && focus !== "grid" && !keyed.has(focus)) focus = null;
  const newest = [...others].sort((a, b) => b[1] - a[1]).map(([k]) => k)[0] || null;
  const staged = focus === "grid" ? null : focus || newest;
  for (const [key, li] of keyed) {
    const on = key === staged;
    if (li.classList.contains("staged") === on) continue;
    li.classList.toggle("staged", on);
    const label = li.getAttribute("aria-label") || "";
    li.setAttribute("aria-label", on ? `${label}, shown large` : label.replace(/, shown large$/, ""));
  }
  const list = $("tiles");
  list.classList.toggle("has-stage", !!staged);
  list.dataset.cols = String(columnsFor(keyed.size - (staged ? 1 : 0)));
  list.dataset.stage = staged || "";
}

function updateTile(tile, guildId, v, call) {
  const userId = v.user_id;
  const name = displayName(guildId, userId);
  const flags = [v.self_mute || v.mute ? "muted" : "", v.self_deaf || v.deaf ? "deafened" : ""].filter(Boolean);
  tile.name.textContent = flags.length ? `${name} (${flags.join(", ")})` : name;
  // The others' rings come from the server (op 5); one's own from the microphone's level (mic.js).
  const inCall = !!call && call.channelId === v.channel_id;
  const speaking = inCall && (userId === state.me.id ? call.selfSpeaking : call.speaking.has(userId));
  tile.li.classList.toggle("speaking", speaking);
  tile.li.dataset.speaking = String(speaking);
  if (speaking) tile.li.dataset.spoke = "true";
  tile.li.setAttribute("aria-label", `${name}${flags.length ? `, ${flags.join(", ")}` : ""}${speaking ? ", speaking" : ""}${tile.li.classList.contains("staged") ? ", shown large" : ""}`);
  const track = trackOf(call, userId, v);
  showTrack(tile.video, track);
  tile.video.hidden = !track;
  tile.avatar.hidden = !!track;
  tile.li.dataset.video = String(!!track);
}

/**
 * How loud a person plays here: a slider on their tile, 0–100% (an audio
 * element's volume stops at 1; see mic.js), kept per person in this browser.
 */
function volumeSlider(userId, name) {
  const pct = Math.round(userVolume(userId) * 100);
  const input = h("input.tile-volume", {
    type: "range", min: 0, max: 100, step: 5, value: pct,
    "aria-label": `Volume of ${name}`, "aria-valuetext": `${pct}%`, title: `Volume of ${name}: ${pct}%`,
    oninput: (e) => {
      const v = Number(e.target.value);
      setUserVolume(userId, v / 100);
      e.target.setAttribute("aria-valuetext", `${v}%`);
      e.target.title = `Volume of ${name}: ${v}%`;
      // Their voice and their shared screen's sound alike.
      for (const key of [userId, `${userId}:screen`]) {
        const el = shownCall && shownCall.audioEls.get(key);
        if (el) el.volume = v / 100;
      }
    },
  });
  return input;
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
  drawnCall = call;
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
      const li = h("li.tile", { dataset: { user: v.user_id } }, video, av, label,
        v.user_id === state.me.id ? null : volumeSlider(v.user_id, name));
      stageable(li, v.user_id);
      tile = { li, video, avatar: av, name: label, channelId: c.id };
      tiles.set(v.user_id, tile);
      list.append(li);
      if (v.user_id !== state.me.id) sizeWatch.observe(li);
    }
    updateTile(tile, guildId, v, call);
    // A call that started after the tile was sized learns its size here.
    if (inThis && tile.quality && v.user_id !== state.me.id) call.wantQuality(v.user_id, tile.quality);
  }
  renderScreens(inThis ? call : null, guildId, people, c.id);
  arrangeStage();
}

/** The voice panel under the channel list. */
export function renderVoicePanel(call) {
  const panel = $("voice-panel");
  panel.hidden = !call;
  if (!call) return;
  const c = channel(call.channelId);
  const g = state.guilds.get(call.guildId);
  $("voice-status").textContent = call.status;
  // With push to talk on, the panel says so, and whether the key is held.
  let ptt = $("voice-ptt");
  if (!ptt) {
    ptt = h("p.voice-ptt", { id: "voice-ptt" });
    panel.querySelector(".voice-where").after(ptt);
  }
  const p = call.pushToTalk;
  ptt.hidden = !p;
  if (p) {
    ptt.textContent = p.held ? "Push to talk: talking" : `Push to talk${p.key ? `: hold ${p.key}` : " (no key set)"}`;
    ptt.classList.toggle("held", p.held);
  }
  $("voice-channel-name").textContent = call.guildId
    ? `${c ? c.name : "voice"} / ${g ? g.name : ""}`
    : `${c ? channelLabel(c) : "call"} / Direct Messages`;
  // The labels stay; aria-pressed (and the colour) says whether it is on.
  const pressed = { mute: call.selfMute, deafen: call.selfDeaf, camera: call.selfVideo, screen: call.selfStream };
  for (const b of document.querySelectorAll("[data-action]")) {
    if (b.dataset.action in pressed) b.setAttribute("aria-pressed", String(pressed[b.dataset.action]));
    // Sharing's label says what a click does; a browser without display capture (phones) has no button.
    if (b.dataset.action === "screen") {
      b.textContent = call.selfStream ? "Stop sharing" : "Share screen";
      b.hidden = !(navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia);
    }
  }
}
