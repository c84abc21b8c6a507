// Server settings, opened from the gear in the server's header (for those
// with Manage Server or Manage Roles): "Overview" — name, icon URL,
// description, the system messages channel, the inactive channel and its
// timeout, the default notification level, Leave server, Delete server (the owner's, confirmed by typing
// the name) — and "Roles" (roles.js). What the user may not do is shown
// disabled, saying why.

import { api } from "./api.js";
import { $, dialog, h, notify } from "./dom.js";
import { disabledWith } from "./permissions.js";
import { invitesSection } from "./invites.js";
import { closeRoleEditor, rolesSection } from "./roles.js";
import { closeSettings, field, openSettings, refreshSettings, settingsOpen, trackDirty } from "./settings.js";
import { HOME, PERM, apply, can, guild, on, state } from "./state.js";
import { CHANNEL } from "./wire.js";

/** A server's default notification levels, in Discord's words. */
const NOTIFY_DEFAULTS = [[0, "All messages"], [1, "Only @mentions"]];
const AFK_TIMEOUTS = [[60, "1 minute"], [300, "5 minutes"], [900, "15 minutes"], [1800, "30 minutes"], [3600, "1 hour"]];
const noManageGuild = "You need the Manage Server permission to change these.";

/** Whether the user may open server settings at all (others see no gear). */
export const mayOpenServerSettings = (g) => !!g && (can(PERM.MANAGE_GUILD, g) || can(PERM.MANAGE_ROLES, g));

const key = (g) => `guild-${g.id}`;

/** An icon the page may show: one on this server (the page loads nothing from elsewhere). */
export function iconUrl(g) {
  if (!g || !g.icon) return null;
  try {
    const u = new URL(g.icon, location.origin);
    return u.origin === location.origin ? u.href : null;
  } catch {
    return null;
  }
}

function overview(g) {
  const manage = can(PERM.MANAGE_GUILD, g);
  const text = g.channelOrder.filter((c) => c.type === CHANNEL.TEXT);
  const voice = g.channelOrder.filter((c) => c.type === CHANNEL.VOICE);
  const name = h("input", { id: "guild-settings-name", name: "name", required: true, minlength: 2, maxlength: 100, value: g.name });
  const iconInput = h("input", { id: "guild-settings-icon", name: "icon", value: g.icon || "", placeholder: "/attachments/…", spellcheck: "false" });
  const description = h("textarea", { id: "guild-settings-description", name: "description", rows: 2, maxlength: 120, text: g.description || "" });
  const system = h("select", { id: "guild-settings-system", name: "system_channel_id" },
    h("option", { value: "", selected: !g.system_channel_id }, "No system messages"),
    text.map((c) => h("option", { value: c.id, selected: c.id === g.system_channel_id }, `# ${c.name}`)));
  const afk = h("select", { id: "guild-settings-afk", name: "afk_channel_id" },
    h("option", { value: "", selected: !g.afk_channel_id }, "No inactive channel"),
    voice.map((c) => h("option", { value: c.id, selected: c.id === g.afk_channel_id }, c.name)));
  const afkTimeout = h("select", { id: "guild-settings-afk-timeout", name: "afk_timeout" },
    AFK_TIMEOUTS.map(([s, label]) => h("option", { value: String(s), selected: s === (g.afk_timeout || 300) }, label)));
  const notifications = h("select", { id: "guild-settings-notifications", name: "default_message_notifications" },
    NOTIFY_DEFAULTS.map(([level, label]) => h("option", { value: String(level), selected: level === (g.default_message_notifications || 0) }, label)));
  const error = h("p.form-error", { role: "alert" });
  const save = h("button.primary", { type: "submit" }, "Save changes");
  const form = trackDirty(h("form.settings-form", { id: `guild-overview-${g.id}`, "aria-labelledby": "guild-overview-title" },
    h("fieldset.plain", { disabled: !manage },
      field("Server name", name),
      field("Icon URL", iconInput, "An image on this server (the app loads nothing from elsewhere), e.g. a file's link from a message. Empty: the server's initials."),
      field("Description", description),
      field("System messages channel", system, "Where the server posts its notices."),
      field("Inactive channel", afk),
      field("Inactive timeout", afkTimeout),
      field("Default notification settings", notifications, "What members are notified of until they choose for themselves.")),
    error,
    h("div.dialog-actions", {}, disabledWith(save, manage ? null : noManageGuild))));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = {};
    const n = name.value.trim();
    if (n.length < 2) { error.textContent = "A server name needs at least 2 characters."; return; }
    if (n !== g.name) body.name = n;
    const icon = iconInput.value.trim() || null;
    if (icon !== (g.icon || null)) body.icon = icon;
    const d = description.value.trim() || null;
    if (d !== (g.description || null)) body.description = d;
    if ((system.value || null) !== (g.system_channel_id || null)) body.system_channel_id = system.value || null;
    if ((afk.value || null) !== (g.afk_channel_id || null)) body.afk_channel_id = afk.value || null;
    if (Number(afkTimeout.value) !== (g.afk_timeout || 300)) body.afk_timeout = Number(afkTimeout.value);
    if (Number(notifications.value) !== (g.default_message_notifications || 0)) body.default_message_notifications = Number(notifications.value);
    error.textContent = "";
    try {
      const saved = Object.keys(body).length ? await api("PATCH", `/guilds/${g.id}`, body) : null;
      delete form.dataset.dirty;
      if (saved) apply("GUILD_UPDATE", saved);
      notify("Server settings saved.", "info");
      refreshSettings(key(g));
    } catch (err) {
      error.textContent = err.message;
    }
  });

  const owner = g.owner_id === state.me.id;
  const leave = h("button.danger", { type: "button", onclick: () => leaveGuild(g) }, "Leave server");
  const del = h("button.danger", { type: "button", onclick: () => deleteGuild(g) }, "Delete server");
  return [
    h("h3", { id: "guild-overview-title" }, "Overview"),
    manage ? null : h("p.hint.locked-reason", {}, noManageGuild),
    form,
    h("section.danger-zone", { "aria-labelledby": "guild-danger-title" },
      h("h4", { id: "guild-danger-title" }, "Leave or delete"),
      h("div.row", {},
        disabledWith(leave, owner ? "You own this server: the owner cannot leave it (ownership cannot be transferred). Delete it instead." : null),
        disabledWith(del, owner ? null : "Only the server's owner can delete it."))),
  ];
}

/** Asks, then leaves `g` (from its settings, or the header's Leave). */
export async function leaveGuild(g) {
  const left = await dialog({
    title: `Leave ${g.name}?`,
    ok: "Leave server",
    body: [h("p", {}, `You won't be able to rejoin ${g.name} unless you are invited again.`)],
    // Marked first: the gateway may tell of the removal before the answer
    // comes, and a leave is no removal to report (state.js GUILD_DELETE).
    submit: () => {
      g.leaving = true;
      return api("DELETE", `/users/@me/guilds/${g.id}`).then(() => true, (err) => { g.leaving = false; throw err; });
    },
  });
  if (!left) return;
  closeSettings();
  apply("GUILD_DELETE", { id: g.id });
}

async function deleteGuild(g) {
  const gone = await dialog({
    title: `Delete ${g.name}`,
    ok: "Delete server",
    body: [h("p", {}, `Are you sure? All of ${g.name}'s channels, messages, roles and invites are deleted. This cannot be undone.`)],
    fields: [{ name: "confirm", label: "Type the server's name to confirm", required: true }],
    submit: async ({ confirm }) => {
      if (confirm.trim() !== g.name) throw new Error("That is not the server's name.");
      await api("DELETE", `/guilds/${g.id}`);
      return true;
    },
  });
  if (!gone) return;
  closeSettings();
  apply("GUILD_DELETE", { id: g.id });
}

/** Opens the current server's settings (at `section`). */
export function openServerSettings(section) {
  const g = guild();
  if (!mayOpenServerSettings(g)) return;
  const id = g.id;
  closeRoleEditor();
  // Sections read the guild afresh on every render: dispatches change it.
  const current = () => state.guilds.get(id);
  openSettings({
    key: key(g),
    title: `Server settings — ${g.name}`,
    opener: $("server-settings"),
    section,
    sections: [
      { id: "overview", label: "Overview", render: () => overview(current()) },
      { id: "roles", label: "Roles", render: () => rolesSection(current()) },
      // The server lists invites to those who may manage it.
      ...(can(PERM.MANAGE_GUILD, g) ? [{ id: "invites", label: "Invites", render: () => invitesSection(current()) }] : []),
    ],
  });
}

export function initServerSettings() {
  const refresh = (guildId) => {
    const g = state.guilds.get(guildId || state.guildId);
    if (!g) return;
    if (settingsOpen() === key(g) && !mayOpenServerSettings(g)) { closeSettings(); return; }
    refreshSettings(key(g), { title: `Server settings — ${g.name}` });
  };
  on("roles", refresh);
  on("invites", refresh);
  on("members", () => refresh());
  on("channels", () => refresh());
  on("guilds", (detail) => {
    const open = settingsOpen();
    // The server went (deleted, left, kicked): so do its settings.
    if (detail && detail.deleted && open === `guild-${detail.deleted}`) closeSettings();
    else if (state.guildId && state.guildId !== HOME) refresh();
  });
}
