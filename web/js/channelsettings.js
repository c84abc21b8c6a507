// Channel settings, opened from the gear beside a channel (or category) in
// the sidebar, for those with Manage Channels: "Overview" — name, topic,
// slow mode, a voice channel's user limit, bitrate and region, Move up /
// Move down, Delete — and "Permissions": the "Private channel" switch and
// the overwrites of @everyone, roles and members (allow / neutral / deny),
// with what a chosen member effectively gets. Also the composer's "Slow
// mode is on" line.

import { api } from "./api.js";
import { $, dialog, h, notify } from "./dom.js";
import {
  CHANNEL_PERMISSIONS, channelPermissions, disabledWith, explainMember, grantReason, permissionEditor, rankOf, topRole,
} from "./permissions.js";
import { closeSettings, field, openSettings, refreshSettings, settingsOpen, trackDirty } from "./settings.js";
import { PERM, apply, can, channel, displayName, on, sortRoles, state } from "./state.js";
import { CHANNEL, OVERWRITE } from "./wire.js";

/** Discord's slow mode choices, in seconds. */
export const SLOWMODE = [0, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600];

/** "5s", "2m", "1h" as Discord writes them; "Off" for 0. */
export function slowmodeLabel(s) {
  if (!s) return "Off";
  if (s < 60) return `${s}s`;
  if (s < 3600) return s % 60 ? `${Math.floor(s / 60)}m ${s % 60}s` : `${s / 60}m`;
  return s % 3600 ? `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m` : `${s / 3600}h`;
}

const noManageRoles = "You need the Manage Roles permission to change a channel's permissions.";
const key = (c) => `channel-${c.id}`;
const kindName = (c) => (c.type === CHANNEL.CATEGORY ? "category" : "channel");

/** The voice regions (`GET /voice/regions`), asked once. */
let regions = null;
function loadRegions(c) {
  if (regions) return;
  regions = [];
  api("GET", "/voice/regions").then((list) => { regions = list; refreshSettings(key(c)); }, () => {});
}

// ---- order: Move up / Move down among the channels listed with it ----

/** The channels shown beside `c` in the sidebar, in its order (same category, same kind). */
function siblings(g, c) {
  const group = c.type === CHANNEL.CATEGORY ? [CHANNEL.CATEGORY] : c.type === CHANNEL.VOICE ? [CHANNEL.VOICE] : [CHANNEL.TEXT];
  const parent = (x) => (x.parent_id && g.channels.has(x.parent_id) ? x.parent_id : null);
  return g.channelOrder.filter((x) => group.includes(x.type) && (c.type === CHANNEL.CATEGORY || parent(x) === parent(c)));
}

async function move(g, c, dir) {
  const list = siblings(g, c);
  const i = list.findIndex((x) => x.id === c.id);
  const j = i + dir;
  if (i < 0 || j < 0 || j >= list.length) return;
  [list[i], list[j]] = [list[j], list[i]];
  // Positions are written as given, others untouched: number the whole
  // group afresh, so equal positions cannot keep the order as it was.
  const changes = list.map((x, n) => ({ id: x.id, position: n })).filter((e) => g.channels.get(e.id).position !== e.position);
  try {
    await api("PATCH", `/guilds/${g.id}/channels`, changes);
  } catch (err) {
    notify(`Couldn't move ${c.name}: ${err.message}`);
  }
}

// ---- overview ----

function overview(g, c) {
  const text = c.type === CHANNEL.TEXT;
  const voice = c.type === CHANNEL.VOICE;
  if (voice) loadRegions(c);
  const name = h("input", { id: "channel-settings-name", required: true, maxlength: 100, value: c.name });
  const topic = text ? h("textarea", { id: "channel-settings-topic", rows: 3, maxlength: 1024, text: c.topic || "" }) : null;
  const slow = text || voice
    ? h("select", { id: "channel-settings-slowmode" },
      [...new Set([...SLOWMODE, c.rate_limit_per_user || 0])].sort((a, b) => a - b)
        .map((s) => h("option", { value: String(s), selected: s === (c.rate_limit_per_user || 0) }, slowmodeLabel(s))))
    : null;
  const limit = voice ? h("input", { id: "channel-settings-user-limit", type: "number", min: 0, max: 99, value: String(c.user_limit || 0) }) : null;
  const bitrate = voice ? h("input", { id: "channel-settings-bitrate", type: "number", min: 8, max: 384, value: String(Math.round((c.bitrate || 64000) / 1000)) }) : null;
  const region = voice
    ? h("select", { id: "channel-settings-region" },
      h("option", { value: "", selected: !c.rtc_region }, "Automatic"),
      [...new Set([...(regions || []).map((r) => r.id), ...(c.rtc_region ? [c.rtc_region] : [])])].map((id) => {
        const r = (regions || []).find((x) => x.id === id);
        return h("option", { value: id, selected: id === c.rtc_region }, r ? r.name : id);
      }))
    : null;
  const error = h("p.form-error", { role: "alert" });
  const form = trackDirty(h("form.settings-form", { id: `channel-overview-${c.id}`, "aria-labelledby": "channel-overview-title" },
    field(c.type === CHANNEL.CATEGORY ? "Category name" : "Channel name", name),
    topic ? field("Channel topic", topic) : null,
    slow ? field("Slow mode", slow, "Members wait this long between messages (those who may manage messages or channels do not).") : null,
    limit ? field("User limit", limit, "How many may be in the channel at once; 0: no limit.") : null,
    bitrate ? field("Bitrate (kbps)", bitrate, "8 to 384; 64 is the default.") : null,
    region ? field("Region override", region) : null,
    error,
    h("div.dialog-actions", {}, h("button.primary", { type: "submit" }, "Save changes"))));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const now = channel(c.id) || c;
    const body = {};
    const n = name.value.trim();
    if (!n) { error.textContent = "A channel needs a name."; return; }
    const wanted = now.type === CHANNEL.TEXT ? n.toLowerCase().replace(/\s+/g, "-") : n;
    if (wanted !== now.name) body.name = wanted;
    if (topic && topic.value !== (now.topic || "")) body.topic = topic.value;
    if (slow && Number(slow.value) !== (now.rate_limit_per_user || 0)) body.rate_limit_per_user = Number(slow.value);
    if (limit && Number(limit.value) !== (now.user_limit || 0)) body.user_limit = Number(limit.value);
    if (bitrate && Number(bitrate.value) * 1000 !== now.bitrate) body.bitrate = Number(bitrate.value) * 1000;
    if (region && (region.value || null) !== (now.rtc_region || null)) body.rtc_region = region.value || null;
    error.textContent = "";
    try {
      if (Object.keys(body).length) apply("CHANNEL_UPDATE", await api("PATCH", `/channels/${c.id}`, body));
      delete form.dataset.dirty;
      notify(`Saved ${now.type === CHANNEL.TEXT ? "#" : ""}${wanted}.`, "info");
      refreshSettings(key(c));
    } catch (err) {
      error.textContent = err.message;
    }
  });

  const list = siblings(g, c);
  const i = list.findIndex((x) => x.id === c.id);
  const up = h("button.small", { type: "button", id: "channel-move-up", "aria-label": `Move ${c.name} up`, onclick: () => move(g, c, -1) }, "Move up");
  const down = h("button.small", { type: "button", id: "channel-move-down", "aria-label": `Move ${c.name} down`, onclick: () => move(g, c, 1) }, "Move down");
  const del = h("button.danger", { type: "button", onclick: () => remove(c) }, `Delete ${kindName(c)}`);
  return [
    h("h3", { id: "channel-overview-title" }, "Overview"),
    form,
    h("section", { "aria-labelledby": "channel-order-title" },
      h("h4", { id: "channel-order-title" }, "Order"),
      h("p.hint", { id: "channel-order-where", "aria-live": "polite" }, `${i + 1} of ${list.length} ${c.type === CHANNEL.CATEGORY ? "categories" : c.type === CHANNEL.VOICE ? "voice channels" : "text channels"}${c.parent_id && g.channels.has(c.parent_id) ? ` in ${g.channels.get(c.parent_id).name}` : ""}.`),
      h("div.row", {},
        disabledWith(up, i <= 0 ? "It is already the first." : null),
        disabledWith(down, i >= list.length - 1 ? "It is already the last." : null))),
    h("section.danger-zone", { "aria-labelledby": "channel-danger-title" },
      h("h4", { id: "channel-danger-title" }, `Delete ${kindName(c)}`),
      del),
  ];
}

async function remove(c) {
  const gone = await dialog({
    title: `Delete ${kindName(c)} ${c.name}?`,
    ok: `Delete ${kindName(c)}`,
    body: [h("p", {}, c.type === CHANNEL.CATEGORY
      ? `The channels in ${c.name} stay, outside any category. This cannot be undone.`
      : `Its messages go with it. This cannot be undone.`)],
    submit: () => api("DELETE", `/channels/${c.id}`),
  });
  if (!gone) return;
  closeSettings();
  apply("CHANNEL_DELETE", gone);
}

// ---- permissions ----

/** The overwrite being edited: {id, type, allow, deny} (a draft until saved), per channel. */
let selected = null;

const overwritesOf = (c) => c.permission_overwrites || [];
const big = (v) => BigInt(v || 0);

function targetLabel(g, o) {
  if (Number(o.type) === OVERWRITE.MEMBER) return displayName(g.id, o.id);
  if (o.id === g.id) return "@everyone";
  const r = g.roles.find((x) => x.id === o.id);
  return r ? r.name : "deleted role";
}

/** @everyone first, then roles highest first, then members by name. */
function sortedOverwrites(g, list) {
  const ev = list.filter((o) => Number(o.type) === OVERWRITE.ROLE && o.id === g.id);
  const roles = list.filter((o) => Number(o.type) === OVERWRITE.ROLE && o.id !== g.id)
    .sort((a, b) => rankOf(g, g.roles.find((r) => r.id === b.id) || {}) - rankOf(g, g.roles.find((r) => r.id === a.id) || {}));
  const members = list.filter((o) => Number(o.type) === OVERWRITE.MEMBER)
    .sort((a, b) => targetLabel(g, a).localeCompare(targetLabel(g, b)));
  return [...ev, ...roles, ...members];
}

const isPrivateChannel = (g, c) => {
  const ev = overwritesOf(c).find((o) => o.id === g.id);
  return !!ev && (big(ev.deny) & PERM.VIEW_CHANNEL) !== 0n;
};

/**
 * Makes a channel private (or public again) in one go: @everyone loses (or
 * gets back) View Channels; going private, if the user would lose sight of
 * it, their highest role (or else the user) is allowed to see it, as
 * Discord does.
 */
async function setPrivate(g, c, on) {
  const list = overwritesOf(c);
  const ev = list.find((o) => o.id === g.id) || { id: g.id, type: 0, allow: "0", deny: "0" };
  const allow = on ? big(ev.allow) & ~PERM.VIEW_CHANNEL : big(ev.allow);
  const deny = on ? big(ev.deny) | PERM.VIEW_CHANNEL : big(ev.deny) & ~PERM.VIEW_CHANNEL;
  const puts = [{ id: g.id, type: 0, allow, deny }];
  if (on) {
    const after = list.filter((o) => o.id !== g.id).concat([{ ...puts[0], allow: String(allow), deny: String(deny) }]);
    const me = state.me.id;
    if (!(channelPermissions(g, c, me, after) & PERM.VIEW_CHANNEL)) {
      const top = topRole(g, me);
      const target = top ? { id: top.id, type: OVERWRITE.ROLE } : { id: me, type: OVERWRITE.MEMBER };
      const had = list.find((o) => o.id === target.id) || { allow: "0", deny: "0" };
      puts.push({ ...target, allow: big(had.allow) | PERM.VIEW_CHANNEL, deny: big(had.deny) & ~PERM.VIEW_CHANNEL });
    }
  }
  try {
    // The user's own entry first: they must never lose the channel between the two.
    for (const p of puts.reverse()) {
      if (p.id === g.id && !p.allow && !p.deny) await api("DELETE", `/channels/${c.id}/permissions/${p.id}`);
      else await api("PUT", `/channels/${c.id}/permissions/${p.id}`, { type: p.type, allow: p.allow.toString(), deny: p.deny.toString() });
    }
  } catch (err) {
    notify(`Couldn't make ${c.name} ${on ? "private" : "public"}: ${err.message}`);
  }
}

async function saveOverwrite(c, o) {
  await api("PUT", `/channels/${c.id}/permissions/${o.id}`, { type: o.type, allow: o.allow.toString(), deny: o.deny.toString() });
}

function permissionsSection(g, c) {
  const manage = can(PERM.MANAGE_ROLES, g);
  const lock = manage ? null : noManageRoles;
  const list = sortedOverwrites(g, overwritesOf(c));
  if (selected && selected.channel !== c.id) selected = null;
  // A saved overwrite that went (deleted elsewhere) is no longer selected.
  if (selected && !selected.draft && !list.some((o) => o.id === selected.id)) selected = null;
  const shown = selected ? list.concat(selected.draft ? [selected] : []) : list;

  const priv = h("input", { type: "checkbox", role: "switch", id: "channel-private", checked: isPrivateChannel(g, c), "aria-describedby": "channel-private-hint" });
  priv.addEventListener("change", () => setPrivate(g, c, priv.checked));

  const pick = (o) => {
    selected = { channel: c.id, id: o.id, type: Number(o.type), allow: big(o.allow), deny: big(o.deny), draft: !!o.draft };
    refreshSettings(key(c));
    const first = document.querySelector("#settings-body .tri input:checked:not([disabled])");
    if (first) first.focus();
  };
  const entries = shown.map((o) => h("li", {},
    h("button.overwrite-pick", {
      type: "button", id: `overwrite-${o.id}`, "aria-current": selected && selected.id === o.id ? "true" : "false",
      onclick: () => pick(o),
    }, Number(o.type) === OVERWRITE.MEMBER ? "👤 " : "", targetLabel(g, o), o.draft ? " (not saved)" : "")));

  const have = new Set(shown.map((o) => o.id));
  const addable = [
    ...sortRoles(g.roles).reverse().filter((r) => !have.has(r.id)).map((r) => ({ id: r.id, type: 0, label: r.id === g.id ? "@everyone" : r.name })),
    ...[...g.members.values()].filter((m) => !have.has(m.user.id)).map((m) => ({ id: m.user.id, type: 1, label: `👤 ${displayName(g.id, m.user.id)}` })),
  ];
  const add = h("select", { id: "overwrite-add", "aria-label": "Add a role or member" },
    h("option", { value: "" }, "Add a role or member…"),
    addable.map((a) => h("option", { value: `${a.type}:${a.id}` }, a.label)));
  add.addEventListener("change", () => {
    const [type, id] = add.value.split(":");
    if (id) pick({ id, type: Number(type), allow: "0", deny: "0", draft: true });
  });

  let edit = null;
  if (selected) {
    const error = h("p.form-error", { role: "alert" });
    const label = targetLabel(g, selected);
    const editor = permissionEditor({
      mode: "overwrite", value: selected, perms: CHANNEL_PERMISSIONS, idPrefix: "ow",
      lockedReason: (bit) => lock || grantReason(g, bit),
      onChange: () => {
        Object.assign(selected, editor.value());
        form.dataset.dirty = "1";
        explain();
      },
    });
    const form = h("form.overwrite-form", { id: `overwrite-form-${c.id}-${selected.id}`, "aria-labelledby": "overwrite-title" },
      h("h4", { id: "overwrite-title" }, `Permissions for ${label} in ${c.name}`),
      editor.el,
      error,
      h("div.dialog-actions", {},
        selected.draft ? null : disabledWith(h("button.danger", { type: "button", id: "overwrite-remove", onclick: async () => {
          try {
            await api("DELETE", `/channels/${c.id}/permissions/${selected.id}`);
            selected = null;
          } catch (err) { error.textContent = err.message; }
        } }, `Remove ${label}'s overwrite`), lock),
        disabledWith(h("button.primary", { type: "submit", id: "overwrite-save" }, "Save permissions"), lock)));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      try {
        await saveOverwrite(c, selected);
        selected.draft = false;
        delete form.dataset.dirty;
        notify(`Saved the permissions of ${label} in ${c.name}.`, "info");
      } catch (err) {
        error.textContent = err.message;
      }
    });
    edit = form;
  }

  // What a member effectively gets, with the overwrite as edited (saved or not).
  const who = h("select", { id: "effective-member" },
    [...g.members.values()].sort((a, b) => displayName(g.id, a.user.id).localeCompare(displayName(g.id, b.user.id)))
      .map((m) => h("option", { value: m.user.id, selected: m.user.id === (explainFor || state.me.id) }, displayName(g.id, m.user.id))));
  const line = h("p.effective", { id: "effective-line", "aria-live": "polite" });
  // A form kept over a re-render calls this too: it reads the latest render's.
  effective = { g, c, who, line };
  who.addEventListener("change", explain);
  explain();

  return [
    h("h3", {}, "Permissions"),
    h("div.check-row.switch-row", {}, disabledWith(priv, lock), h("label", { for: "channel-private" }, "Private channel")),
    h("p.hint", { id: "channel-private-hint" }, "Only the roles and members allowed below (and administrators) can see a private channel."),
    h("section", { "aria-labelledby": "overwrites-title" },
      h("h4", { id: "overwrites-title" }, "Roles and members"),
      h("ul.overwrite-list", {}, entries),
      disabledWith(add, lock)),
    edit,
    h("section.effective-box", { "aria-labelledby": "effective-title" },
      h("h4", { id: "effective-title" }, "What a member gets here"),
      h("label", { for: "effective-member" }, "Member"), who, line),
  ];
}

let explainFor = null;
/** The latest render's "What a member gets here": {g, c, who, line}. */
let effective = null;

/** Says what the chosen member gets, with the overwrite as edited (saved or not). */
function explain() {
  if (!effective) return;
  const { g, c, who, line } = effective;
  explainFor = who.value;
  const overwrites = selected
    ? overwritesOf(c).filter((o) => o.id !== selected.id).concat([{ id: selected.id, type: selected.type, allow: String(selected.allow), deny: String(selected.deny) }])
    : overwritesOf(c);
  line.textContent = who.value ? explainMember(g, { ...c, permission_overwrites: overwrites }, who.value) : "";
}

/** Opens a channel's (or category's) settings. */
export function openChannelSettings(channelId, opener, section) {
  const c = channel(channelId);
  const g = c && state.guilds.get(c.guild_id);
  if (!g || !can(PERM.MANAGE_CHANNELS, g)) return;
  selected = null;
  explainFor = null;
  const current = () => channel(channelId) || c;
  openSettings({
    key: key(c),
    title: c.type === CHANNEL.CATEGORY ? `Category settings — ${c.name}` : `Channel settings — ${c.type === CHANNEL.TEXT ? "#" : ""}${c.name}`,
    opener,
    section,
    sections: [
      { id: "overview", label: "Overview", render: () => overview(state.guilds.get(g.id), current()) },
      { id: "permissions", label: "Permissions", render: () => permissionsSection(state.guilds.get(g.id), current()) },
    ],
  });
}

// ---- slow mode, under the composer ----

/** "Slow mode is on: 10s" under the composer of a channel that has it (and whether the user is exempt). */
export function renderSlowmode() {
  const composer = $("composer");
  if (!composer) return;
  let hint = $("slowmode-hint");
  if (!hint) {
    hint = h("p.slowmode-hint", { id: "slowmode-hint", "aria-live": "polite", hidden: true });
    composer.after(hint);
  }
  const c = channel();
  const s = c && c.type === CHANNEL.TEXT ? c.rate_limit_per_user || 0 : 0;
  hint.hidden = !s;
  if (!s) { hint.textContent = ""; return; }
  const g = state.guilds.get(c.guild_id);
  const exempt = g && (can(PERM.MANAGE_MESSAGES, g) || can(PERM.MANAGE_CHANNELS, g));
  hint.textContent = `Slow mode is on: ${slowmodeLabel(s)} between messages${exempt ? " (you are exempt)" : ""}.`;
}

/**
 * After a change of the user's roles, the channels they may see now, from
 * the server (once per burst of changes), as CHANNEL_CREATE.
 */
const gaining = new Map();
function fetchGained(guildId) {
  clearTimeout(gaining.get(guildId));
  gaining.set(guildId, setTimeout(async () => {
    gaining.delete(guildId);
    const g = state.guilds.get(guildId);
    if (!g) return;
    try {
      for (const c of await api("GET", `/guilds/${guildId}/channels`)) if (!g.channels.has(c.id)) apply("CHANNEL_CREATE", c);
    } catch {
      // The next GUILD_CREATE brings them.
    }
  }, 150));
}

export function initChannelSettings() {
  on("channels-gained", fetchGained);
  on("channels", (detail) => {
    renderSlowmode();
    const open = settingsOpen();
    if (!open || !open.startsWith("channel-")) return;
    const id = open.slice("channel-".length);
    if (detail && detail.deleted === id) { closeSettings(); return; }
    const c = channel(id);
    if (c) refreshSettings(open, { title: c.type === CHANNEL.CATEGORY ? `Category settings — ${c.name}` : `Channel settings — ${c.type === CHANNEL.TEXT ? "#" : ""}${c.name}` });
  });
  const again = () => {
    const open = settingsOpen();
    if (open && open.startsWith("channel-")) refreshSettings(open);
  };
  on("roles", () => { again(); renderSlowmode(); });
  on("members", again);
}
