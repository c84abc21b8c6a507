// The user settings (the cog in the user panel), in the settings view the
// server settings use (settings.js): "My account" (the password, Log out,
// Log out everywhere), "Profile" (display name, avatar, custom status),
// "Appearance" (appearance.js), "Voice & video" (voicesettings.js),
// "Notifications" and "Blocked users" (blocks.js).
//
// The session itself is main.js's: this module asks it through the state's
// topics — "custom-status" (send the presence again), "session-revoking"
// and "session-token" (a password change revokes every token, this one
// too, and hands back a new one), "logout" ({everywhere}).

import { permissionLine } from "./alerts.js";
import { api, fieldErrors } from "./api.js";
import { appearanceSection } from "./appearance.js";
import { blockedSection } from "./blocks.js";
import { $, dialog, h, icon, notify, userAvatar } from "./dom.js";
import { closeSettings, field, openSettings, refreshSettings, settingsOpen, trackDirty } from "./settings.js";
import { apply, emit, on, setOwnStatusText, state } from "./state.js";
import { voiceSection } from "./voicesettings.js";
import { ACTIVITY } from "./wire.js";

const KEY = "user";
const STATUS_KEY = "hearth.customStatus";
/** The longest custom status Discord's client takes. */
const STATUS_MAX = 128;
/** An uploaded avatar is made this many pixels square before it is sent (it rides along in every User object). */
const AVATAR_PX = 128;

/** The custom status the user set (kept in this browser, sent with every Identify). */
export const ownStatusText = () => localStorage.getItem(STATUS_KEY) || "";

/** A presence's activities for a custom status: Discord's type 4, its text in `state`. */
export const ownActivities = (text = ownStatusText()) =>
  (text ? [{ type: ACTIVITY.CUSTOM, name: "Custom Status", state: text }] : []);

const nameOf = (u) => u.global_name || u.username;

// ---- form helpers ----

/** A text field with a place for its own error (aria-invalid, described by it). */
function input(id, attrs) {
  return h("input", { id, "aria-describedby": `${id}-error`, ...attrs });
}
const errorLine = (id) => h("p.form-error.field-error", { id: `${id}-error` });

function clearErrors(form) {
  for (const el of form.querySelectorAll(".field-error")) el.textContent = "";
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
}

/** Shows a 50035's errors at their fields (`map`: wire field -> input id); the rest at `fallback`. */
function showErrors(form, err, map, fallback) {
  const errs = err && err.code === 50035 && err.body ? fieldErrors(err.body.errors) : [];
  let placed = false;
  for (const e of errs) {
    const id = map[e.path];
    const line = id && $(`${id}-error`);
    if (!line) continue;
    line.textContent = line.textContent ? `${line.textContent} ${e.message}` : e.message;
    $(id).setAttribute("aria-invalid", "true");
    if (!placed) $(id).focus();
    placed = true;
  }
  if (!placed) $(fallback).textContent = err.message || String(err);
}

// ---- My account ----

function passwordForm() {
  const form = trackDirty(h("form.settings-form", { id: "password-form", novalidate: true },
    h("h4", {}, "Change password"),
    h("p.hint", {}, "Every device signed in to this account is logged out, except this one."),
    field("Current password", input("password-current", { type: "password", autocomplete: "current-password", required: true, maxlength: 72 })),
    errorLine("password-current"),
    field("New password", input("password-new", { type: "password", autocomplete: "new-password", required: true, minlength: 8, maxlength: 72 })),
    errorLine("password-new"),
    field("Confirm new password", input("password-confirm", { type: "password", autocomplete: "new-password", required: true, maxlength: 72 })),
    errorLine("password-confirm"),
    h("p.form-error", { id: "password-error", role: "alert" }),
    h("button.primary", { type: "submit" }, "Change password")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    $("password-error").textContent = "";
    const current = $("password-current").value;
    const next = $("password-new").value;
    if (next !== $("password-confirm").value) {
      $("password-confirm-error").textContent = "The passwords don't match.";
      $("password-confirm").setAttribute("aria-invalid", "true");
      $("password-confirm").focus();
      return;
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    // The server revokes every token, this one too, perhaps before its
    // answer arrives: the gateway's 4004 is expected meanwhile.
    emit("session-revoking", true);
    try {
      const me = await api("PATCH", "/users/@me", { password: current, new_password: next });
      form.reset();
      delete form.dataset.dirty;
      if (me.token) emit("session-token", me.token);
      notify("Your password is changed. Other devices were logged out.", "info");
    } catch (err) {
      showErrors(form, err, { password: "password-current", new_password: "password-new" }, "password-error");
    } finally {
      emit("session-revoking", false);
      button.disabled = false;
    }
  });
  return form;
}

async function logoutEverywhere() {
  const sure = await dialog({
    title: "Log out everywhere?",
    ok: "Log out everywhere",
    body: [h("p", {}, "Every browser and app signed in to this account is logged out, this one too. You'll need your password to log in again.")],
    submit: async () => true,
  });
  if (!sure) return;
  closeSettings();
  emit("logout", { everywhere: true });
}

function accountSection() {
  const me = state.me;
  return h("section.settings-section", { "aria-labelledby": "account-title" },
    h("h3", { id: "account-title" }, "My account"),
    h("dl.account-facts", {},
      h("dt", {}, "Username"), h("dd", {}, `@${me.username}`),
      h("dt", {}, "Display name"), h("dd", {}, me.global_name || "None: your username shows")),
    passwordForm(),
    h("div.danger-zone", {},
      h("h4", {}, "Sessions"),
      h("div.row", {},
        h("button", { type: "button", id: "account-logout", onclick: () => { closeSettings(); emit("logout", { everywhere: false }); } }, "Log out"),
        h("button.danger", { type: "button", id: "account-logout-everywhere", onclick: logoutEverywhere }, "Log out everywhere")),
      h("p.hint", {}, "Log out everywhere ends every session of this account, on every device.")));
}

// ---- Profile ----

/** An image file made a small square (cropped to its middle) as a data URI. */
async function squareDataUri(file) {
  const bitmap = await createImageBitmap(file);
  const canvas = document.createElement("canvas");
  canvas.width = AVATAR_PX;
  canvas.height = AVATAR_PX;
  const side = Math.min(bitmap.width, bitmap.height);
  canvas.getContext("2d").drawImage(bitmap, (bitmap.width - side) / 2, (bitmap.height - side) / 2, side, side, 0, 0, AVATAR_PX, AVATAR_PX);
  bitmap.close();
  // WebP where the browser writes it (a few KB); PNG otherwise.
  const webp = canvas.toDataURL("image/webp", 0.85);
  return webp.startsWith("data:image/webp") ? webp : canvas.toDataURL("image/png");
}

/** Changes the user (`PATCH /users/@me`) and applies the answer. */
async function saveMe(change) {
  const me = await api("PATCH", "/users/@me", change);
  // USER_UPDATE follows on the gateway; this tab knows it now.
  apply("USER_UPDATE", me);
  return me;
}

function nameForm() {
  const me = state.me;
  const form = trackDirty(h("form.settings-form", { id: "profile-name-form", novalidate: true },
    field("Display name", input("profile-display-name", { value: me.global_name || "", maxlength: 32, placeholder: me.username, autocomplete: "nickname" }),
      "What others see in place of your username. Empty: your username."),
    errorLine("profile-display-name"),
    h("button.primary", { type: "submit" }, "Save display name")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    const value = $("profile-display-name").value.trim();
    try {
      await saveMe({ global_name: value || null });
      delete form.dataset.dirty;
      refreshSettings(KEY);
      notify(value ? `Your display name is ${value} now.` : "Your display name is cleared.", "info");
    } catch (err) {
      showErrors(form, err, { global_name: "profile-display-name" }, "profile-display-name-error");
    }
  });
  return form;
}

function avatarBlock() {
  const me = state.me;
  const file = h("input", { type: "file", id: "profile-avatar-file", accept: "image/png,image/jpeg,image/webp,image/gif", hidden: true });
  const status = h("p.hint", { id: "profile-avatar-status", "aria-live": "polite" });
  file.addEventListener("change", async () => {
    const f = file.files[0];
    file.value = "";
    if (!f) return;
    status.textContent = "Uploading…";
    try {
      await saveMe({ avatar: await squareDataUri(f) });
      refreshSettings(KEY);
      notify("Your avatar is changed.", "info");
    } catch (err) {
      status.textContent = `Couldn't change your avatar: ${err.message || err}`;
    }
  });
  const remove = async () => {
    try {
      await saveMe({ avatar: null });
      refreshSettings(KEY);
    } catch (err) {
      status.textContent = `Couldn't remove your avatar: ${err.message}`;
    }
  };
  return h("div.profile-avatar-block", {},
    h("h4", {}, "Avatar"),
    h("div.row", {},
      h("span.avatar-preview", { id: "profile-avatar-preview" }, userAvatar(me, nameOf(me))),
      h("button.small", { type: "button", id: "profile-avatar-upload", onclick: () => file.click() }, me.avatar ? "Change avatar" : "Upload avatar"),
      me.avatar ? h("button.small", { type: "button", id: "profile-avatar-remove", onclick: remove }, "Remove avatar") : null,
      file),
    h("p.hint", {}, `A picture file, made ${AVATAR_PX}×${AVATAR_PX} pixels (cropped to a square) before it is sent.`),
    status);
}

function statusForm() {
  const current = ownStatusText();
  const form = trackDirty(h("form.settings-form", { id: "profile-status-form", novalidate: true },
    h("h4", {}, "Custom status"),
    field("Status text", input("profile-status-text", { value: current, maxlength: STATUS_MAX, placeholder: "What are you up to?" }),
      "Shown under your name in the member list and your profile."),
    h("div.row", {},
      h("button.primary", { type: "submit" }, "Set status"),
      current ? h("button", { type: "button", id: "profile-status-clear", onclick: () => setCustomStatus("") }, "Clear status") : null)));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    delete form.dataset.dirty;
    setCustomStatus($("profile-status-text").value.trim().slice(0, STATUS_MAX));
  });
  return form;
}

/** Sets (or clears) the custom status: kept here, sent with op 3 as the status select does. */
export function setCustomStatus(text) {
  if (text) localStorage.setItem(STATUS_KEY, text);
  else localStorage.removeItem(STATUS_KEY);
  emit("custom-status", text);
  setOwnStatusText(text);
  refreshSettings(KEY);
  notify(text ? "Your status is set." : "Your status is cleared.", "info");
}

function profileSection() {
  return h("section.settings-section", { "aria-labelledby": "profile-title" },
    h("h3", { id: "profile-title" }, "Profile"),
    nameForm(),
    avatarBlock(),
    statusForm());
}

// ---- Notifications ----

function notificationsSection() {
  return h("section.settings-section", { "aria-labelledby": "notifications-title" },
    h("h3", { id: "notifications-title" }, "Notifications"),
    permissionLine(),
    h("p.hint", {}, "Alerts come while this tab is hidden: a short chime and, if allowed, a desktop notification for every direct message."),
    h("p.hint", {}, "What a server notifies you of is set from the bell in its channel list."));
}

// ---- the view ----

export function openUserSettings(section) {
  if (!state.me) return;
  openSettings({
    key: KEY,
    title: "User settings",
    opener: $("user-settings"),
    section: typeof section === "string" ? section : undefined,
    sections: [
      { id: "account", label: "My account", render: accountSection },
      { id: "profile", label: "Profile", render: profileSection },
      { id: "appearance", label: "Appearance", render: appearanceSection },
      { id: "voice", label: "Voice & video", render: voiceSection },
      { id: "notifications", label: "Notifications", render: notificationsSection },
      { id: "blocked", label: "Blocked users", render: blockedSection },
    ],
  });
}

export function initUserSettings() {
  $("user-settings").replaceChildren(icon("gear"));
  $("user-settings").addEventListener("click", () => openUserSettings());
  // A rename from another tab of the same user (USER_UPDATE).
  on("me", () => { if (settingsOpen() === KEY) refreshSettings(KEY); });
}
