// Roles: the server settings' "Roles" section (create, edit — name, colour,
// Display separately, mentionable, permissions —, Move up / Move down,
// delete) and a member's roles in their profile popout (✕ to take one away,
// "Add role"). What the hierarchy forbids is shown disabled, saying why.

import { api } from "./api.js";
import { dialog, h, notify } from "./dom.js";
import { disabledWith, grantReason, hex, permissionEditor, rankOf, roleLockedReason, tint, topRole } from "./permissions.js";
import { refreshSettings, trackDirty } from "./settings.js";
import { PERM, apply, can, sortRoles, state } from "./state.js";

/** The role whose editor is open in the Roles section (one at a time), or null. */
let editing = null;

/** Server settings opened afresh: no editor open. */
export function closeRoleEditor() {
  editing = null;
}

const roleLabel = (g, r) => (r.id === g.id ? "@everyone" : r.name);
const noManageRoles = "You need the Manage Roles permission to change roles.";

/** Roles highest first, as Discord lists them; @everyone last. */
const listed = (g) => sortRoles(g.roles).reverse();

const membersWith = (g, role) => (role.id === g.id ? g.members.size : [...g.members.values()].filter((m) => (m.roles || []).includes(role.id)).length);

/** Why the user may not move a role one step (`dir` +1 up, -1 down); null if they may. */
function moveReason(g, role, dir) {
  const locked = roleLockedReason(g, role);
  if (locked) return locked;
  const rank = rankOf(g, role);
  const to = rank + dir;
  if (dir < 0 && to < 1) return "This is already the lowest role (only @everyone is below it).";
  if (dir > 0 && to >= g.roles.length) return "This is already the highest role.";
  if (dir > 0 && g.owner_id !== state.me.id) {
    const top = topRole(g, state.me.id);
    if (!top || to >= rankOf(g, top)) return "A role cannot be moved to or above your highest role.";
  }
  return null;
}

async function move(g, role, dir) {
  const to = rankOf(g, role) + dir;
  try {
    const roles = await api("PATCH", `/guilds/${g.id}/roles`, [{ id: role.id, position: to }]);
    for (const r of roles) apply("GUILD_ROLE_UPDATE", { guild_id: g.id, role: r });
  } catch (err) {
    notify(`Couldn't move ${role.name}: ${err.message}`);
  }
  // The button pressed may have moved with its row: keep the focus on it.
  const again = document.querySelector(`#settings-body [data-role="${role.id}"] .role-move-${dir > 0 ? "up" : "down"}`);
  if (again && !again.disabled) again.focus();
  else {
    const edit = document.querySelector(`#settings-body [data-role="${role.id}"] .role-edit`);
    if (edit) edit.focus();
  }
}

async function remove(g, role) {
  const ok = await dialog({
    title: `Delete the role ${role.name}?`,
    ok: "Delete role",
    body: [h("p", {}, `Everyone who has ${role.name} loses it, and its channel permissions go too. This cannot be undone.`)],
    submit: () => api("DELETE", `/guilds/${g.id}/roles/${role.id}`).then(() => true),
  });
  if (!ok) return;
  if (editing === role.id) editing = null;
  apply("GUILD_ROLE_DELETE", { guild_id: g.id, role_id: role.id });
}

async function create(g) {
  try {
    const role = await api("POST", `/guilds/${g.id}/roles`, { name: "new role" });
    // Its editor opens: the re-renders that follow show it, not the last one's.
    editing = role.id;
    apply("GUILD_ROLE_CREATE", { guild_id: g.id, role });
    // A create moves the others up without telling (docs/protocol.md §5):
    // their positions, fresh.
    const roles = await api("GET", `/guilds/${g.id}/roles`);
    for (const r of roles) apply("GUILD_ROLE_UPDATE", { guild_id: g.id, role: r });
    editing = role.id;
    refreshSettings(`guild-${g.id}`);
    const name = document.getElementById("role-name");
    if (name) { name.focus(); name.select(); }
  } catch (err) {
    notify(`Couldn't create a role: ${err.message}`);
  }
}

/** The editor of one role: a form, kept as typed over re-renders until saved. */
function editor(g, role) {
  const everyone = role.id === g.id;
  const locked = roleLockedReason(g, role) || (can(PERM.MANAGE_ROLES, g) ? null : noManageRoles);
  const perms = permissionEditor({
    mode: "role", value: { allow: BigInt(role.permissions), deny: 0n }, idPrefix: `role-perm`,
    lockedReason: (bit) => grantReason(g, bit),
  });
  const name = h("input", { id: "role-name", name: "name", required: true, maxlength: 100, value: everyone ? "@everyone" : role.name, readonly: everyone });
  const colour = h("input", { id: "role-color", type: "color", value: hex(role.color || 0x99aab5) });
  const noColour = h("input", { id: "role-nocolor", type: "checkbox", checked: !role.color });
  const hoist = h("input", { id: "role-hoist", type: "checkbox", checked: !!role.hoist });
  const mentionable = h("input", { id: "role-mentionable", type: "checkbox", checked: !!role.mentionable });
  const error = h("p.form-error", { role: "alert" });
  const form = trackDirty(h("form.role-form", { id: `role-form-${role.id}`, "aria-labelledby": "role-editing" },
    h("h4", { id: "role-editing" }, `Edit role — ${roleLabel(g, role)}`),
    h("fieldset.plain", {},
      h("label", { for: "role-name" }, "Role name"), name,
      everyone ? null : [
        h("label", { for: "role-color" }, "Role colour"), h("div.row", {}, colour,
          h("span.check-row", {}, noColour, h("label", { for: "role-nocolor" }, "No colour (the default)"))),
        h("div.check-row", {}, hoist, h("label", { for: "role-hoist" }, "Display role members separately from online members (Display separately)")),
        h("div.check-row", {}, mentionable, h("label", { for: "role-mentionable" }, "Allow anyone to @mention this role")),
      ],
      h("h5", {}, everyone ? "Permissions of everyone in the server" : "Permissions"),
      perms.el),
    error,
    h("div.dialog-actions", {},
      h("button", { type: "button", onclick: () => { editing = null; refreshSettings(`guild-${g.id}`); } }, "Close editor"),
      h("button.primary", { type: "submit" }, "Save changes"))));
  colour.addEventListener("input", () => { noColour.checked = false; });
  if (locked) {
    // Seen, not changed: every control disabled, the reason said once.
    const fs = form.querySelector("fieldset");
    fs.disabled = true;
    form.querySelector("button[type=submit]").replaceWith(...[].concat(disabledWith(h("button.primary", { type: "submit" }, "Save changes"), locked)));
    form.prepend(h("p.hint.locked-reason", {}, locked));
  }
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = { permissions: perms.value().allow.toString() };
    if (!everyone) {
      const n = name.value.trim();
      if (!n) { error.textContent = "A role needs a name."; return; }
      Object.assign(body, {
        name: n, color: noColour.checked ? 0 : parseInt(colour.value.slice(1), 16), hoist: hoist.checked, mentionable: mentionable.checked,
      });
    }
    try {
      const saved = await api("PATCH", `/guilds/${g.id}/roles/${role.id}`, body);
      delete form.dataset.dirty;
      apply("GUILD_ROLE_UPDATE", { guild_id: g.id, role: saved });
      notify(`Saved ${roleLabel(g, saved)}.`, "info");
    } catch (err) {
      error.textContent = err.message;
    }
  });
  return form;
}

/** The server settings' Roles section. */
export function rolesSection(g) {
  const manage = can(PERM.MANAGE_ROLES, g);
  if (editing && !g.roles.some((r) => r.id === editing)) editing = null;
  const createButton = h("button.primary", { type: "button", id: "role-create", onclick: () => create(g) }, "Create role");
  const rows = listed(g).map((r) => {
    const everyone = r.id === g.id;
    const locked = roleLockedReason(g, r) || (manage ? null : noManageRoles);
    const open = editing === r.id;
    const label = roleLabel(g, r);
    const n = membersWith(g, r);
    const editButton = h("button.small.role-edit", {
      type: "button", id: `role-edit-${r.id}`, "aria-expanded": String(open), "aria-label": `${open ? "Close" : "Edit"} role ${label}`,
      onclick: () => { editing = open ? null : r.id; refreshSettings(`guild-${g.id}`); },
    }, open ? "Close" : "Edit");
    return h(`li.role-row${open ? ".editing" : ""}`, { dataset: { role: r.id } },
      h("div.role-line", {},
        tint(h("span.role-dot", { "aria-hidden": "true" }), "background", r.color),
        tint(h("span.role-name", {}, label), "color", r.color),
        h("span.hint", {}, `${n} member${n === 1 ? "" : "s"}${r.hoist ? " · shown separately" : ""}`),
        // @everyone's permissions are edited like a role's; it neither moves nor goes.
        disabledWith(editButton, everyone ? (manage ? null : noManageRoles) : null),
        everyone ? null : [
          disabledWith(h("button.small.role-move-up", { type: "button", id: `role-up-${r.id}`, "aria-label": `Move ${label} up`, onclick: () => move(g, r, 1) }, "↑"), manage ? moveReason(g, r, 1) : noManageRoles),
          disabledWith(h("button.small.role-move-down", { type: "button", id: `role-down-${r.id}`, "aria-label": `Move ${label} down`, onclick: () => move(g, r, -1) }, "↓"), manage ? moveReason(g, r, -1) : noManageRoles),
          disabledWith(h("button.small.danger", { type: "button", id: `role-delete-${r.id}`, "aria-label": `Delete role ${label}`, onclick: () => remove(g, r) }, "Delete"), locked),
        ]),
      open ? editor(g, r) : null);
  });
  return [
    h("h3", {}, "Roles"),
    h("p.hint", {}, "Members get the permissions of @everyone and of all their roles. A role can only be changed or given by someone whose highest role is above it."),
    disabledWith(createButton, manage ? null : noManageRoles),
    h("ul.role-list", { "aria-label": "Roles, highest first" }, rows),
  ];
}

// ---- a member's roles, in the profile popout ----

async function setRole(g, userId, role, add) {
  try {
    await api(add ? "PUT" : "DELETE", `/guilds/${g.id}/members/${userId}/roles/${role.id}`);
    const m = g.members.get(userId);
    if (m) {
      const roles = (m.roles || []).filter((id) => id !== role.id);
      if (add) roles.push(role.id);
      apply("GUILD_MEMBER_UPDATE", { ...m, guild_id: g.id, roles });
    }
  } catch (err) {
    notify(`Couldn't ${add ? "give" : "take away"} ${role.name}: ${err.message}`);
  }
}

/** A member's roles with ✕ each, and "Add role" (for those who may), for the profile popout. */
export function memberRoles(g, userId) {
  const m = g.members.get(userId);
  if (!m) return null;
  const manage = can(PERM.MANAGE_ROLES, g);
  const theirs = sortRoles(g.roles.filter((r) => (m.roles || []).includes(r.id))).reverse();
  const others = listed(g).filter((r) => r.id !== g.id && !r.managed && !(m.roles || []).includes(r.id));
  const chips = theirs.map((r) => h("li.role-chip", { dataset: { role: r.id } },
    tint(h("span.role-dot", { "aria-hidden": "true" }), "background", r.color),
    h("span", {}, r.name),
    manage
      ? disabledWith(h("button.small.role-remove", { type: "button", "aria-label": `Remove role ${r.name}`, onclick: () => setRole(g, userId, r, false) }, "✕"), roleLockedReason(g, r))
      : null));
  let add = null;
  if (manage && others.length) {
    add = h("select.role-add", { id: "profile-add-role", "aria-label": "Add role" },
      h("option", { value: "" }, "Add role…"),
      others.map((r) => {
        const why = roleLockedReason(g, r);
        return h("option", { value: r.id, disabled: !!why, title: why || undefined }, why ? `${r.name} (${r.managed ? "managed" : "above your highest role"})` : r.name);
      }));
    add.addEventListener("change", () => {
      const r = g.roles.find((x) => x.id === add.value);
      if (r) setRole(g, userId, r, true);
    });
  }
  return h("section.profile-roles", { "aria-labelledby": "profile-roles-title" },
    h("h4", { id: "profile-roles-title" }, theirs.length ? "Roles" : "No roles"),
    theirs.length ? h("ul.role-chips", {}, chips) : null,
    add);
}
