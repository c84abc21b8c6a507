// Permissions as the server computes them (docs/protocol.md §1.6), the role
// hierarchy (§4.5), and the permission editor: on/off switches for a role,
// allow / neutral / deny for a channel's overwrite.

import { h } from "./dom.js";
import { displayName, sortRoles, state, timedOutUntil } from "./state.js";
import { ALL_PERMISSIONS, CHANNEL, NEEDS_SEND, OVERWRITE, PERM, PERMISSIONS, TIMEOUT_KEEPS } from "./wire.js";

const big = (v) => BigInt(v || 0);

/** A member's roles, as Role objects (without @everyone). */
export function rolesOf(g, userId) {
  const m = g.members.get(userId);
  const ids = new Set(m ? m.roles || [] : []);
  return g.roles.filter((r) => ids.has(r.id));
}

/** Roles lowest first: the order ranks compare in. */
const ranked = (g) => sortRoles(g.roles);

/** A role's rank: its index lowest first (@everyone 0 when it is lowest, as it is). */
export const rankOf = (g, role) => ranked(g).findIndex((r) => r.id === role.id);

/** The member's highest role, or null (they rank lowest). */
export function topRole(g, userId) {
  const mine = new Set(rolesOf(g, userId).map((r) => r.id));
  const list = ranked(g).filter((r) => mine.has(r.id));
  return list.length ? list[list.length - 1] : null;
}

/** The member's rank: their highest role's, or -1 with none. */
export function memberRank(g, userId) {
  const top = topRole(g, userId);
  return top ? rankOf(g, top) : -1;
}

/** The member's highest role that has a colour, for their name. */
export function colourRole(g, userId) {
  const list = sortRoles(rolesOf(g, userId)).filter((r) => r.color);
  return list.length ? list[list.length - 1] : null;
}

export const hex = (n) => `#${Number(n || 0).toString(16).padStart(6, "0")}`;

/**
 * Gives an element a role's colour (`prop`: "color" or "background"), if
 * it has one. Through the CSSOM: the page's policy refuses style attributes.
 */
export function tint(el, prop, colour) {
  if (colour) el.style[prop === "background" ? "backgroundColor" : "color"] = hex(colour);
  return el;
}

/** Guild-wide permissions of any member (the owner all, ADMINISTRATOR all). */
export function basePermissions(g, userId) {
  if (g.owner_id === userId) return ALL_PERMISSIONS;
  const everyone = g.roles.find((r) => r.id === g.id);
  let perms = everyone ? big(everyone.permissions) : 0n;
  for (const r of rolesOf(g, userId)) perms |= big(r.permissions);
  if (perms & PERM.ADMINISTRATOR) return ALL_PERMISSIONS;
  // A timed-out member keeps only reading, server-wide too.
  return timedOutUntil(g.members.get(userId)) ? perms & TIMEOUT_KEEPS : perms;
}

/**
 * A member's permissions in a channel, with `overwrites` standing for the
 * channel's (to try a change before making it): @everyone's overwrite, then
 * their roles' together, then their own; then the implicit rules.
 */
export function channelPermissions(g, c, userId, overwrites = c.permission_overwrites || []) {
  let perms = basePermissions(g, userId);
  if (perms === ALL_PERMISSIONS && (g.owner_id === userId || perms & PERM.ADMINISTRATOR)) return ALL_PERMISSIONS;
  const over = (allow, deny) => { perms = (perms & ~deny) | allow; };
  const everyone = overwrites.find((o) => Number(o.type) === OVERWRITE.ROLE && o.id === g.id);
  if (everyone) over(big(everyone.allow), big(everyone.deny));
  const mine = new Set(rolesOf(g, userId).map((r) => r.id));
  let allow = 0n;
  let deny = 0n;
  for (const o of overwrites) {
    if (Number(o.type) !== OVERWRITE.ROLE || o.id === g.id || !mine.has(o.id)) continue;
    allow |= big(o.allow);
    deny |= big(o.deny);
  }
  over(allow, deny);
  const own = overwrites.find((o) => Number(o.type) === OVERWRITE.MEMBER && o.id === userId);
  if (own) over(big(own.allow), big(own.deny));
  if (!(perms & PERM.VIEW_CHANNEL)) return 0n;
  if (!(perms & PERM.SEND_MESSAGES)) perms &= ~NEEDS_SEND;
  return timedOutUntil(g.members.get(userId)) ? perms & TIMEOUT_KEEPS : perms;
}

/** The names of the permissions in a bitfield, in Discord's order. */
export const permissionNames = (bits) => PERMISSIONS.filter((p) => bits & p.value).map((p) => p.name);

/** Permissions that matter in a channel (the rest are server-wide only). */
export const CHANNEL_PERMISSIONS = PERMISSIONS.filter((p) => !p.guild);

/**
 * One line saying what a member effectively gets in a channel, computed as
 * the server does.
 */
export function explainMember(g, c, userId) {
  const name = displayName(g.id, userId);
  if (g.owner_id === userId) return `${name} owns the server: every permission here; overwrites do not apply.`;
  if (basePermissions(g, userId) === ALL_PERMISSIONS) return `${name} is an Administrator: every permission here; overwrites do not apply.`;
  const perms = channelPermissions(g, c, userId);
  if (!perms) return `${name} cannot see #${c.name}, so has nothing in it.`;
  // What matters most first (may they talk here?), then the whole list.
  const key = c.type === CHANNEL.VOICE ? [PERM.CONNECT, "join", PERM.SPEAK, "speak"] : [PERM.SEND_MESSAGES, "send messages", PERM.READ_MESSAGE_HISTORY, "read its history"];
  const can = [key[1], key[3]].filter((_, i) => perms & key[i * 2]);
  const cannot = [key[1], key[3]].filter((_, i) => !(perms & key[i * 2]));
  const headline = `${name} can see #${c.name}${can.length ? `, ${can.join(" and ")}` : ""}${cannot.length ? `, but not ${cannot.join(" or ")}` : ""}`;
  const names = CHANNEL_PERMISSIONS.filter((p) => perms & p.value).map((p) => p.name);
  return `${headline}: ${names.length} of ${CHANNEL_PERMISSIONS.length} permissions (${names.join(", ")}).`;
}

// ---- the hierarchy: what the user may do, or why not ----

const me = () => (state.me ? state.me.id : null);
const isOwner = (g) => g.owner_id === me();

/** Why the user may not edit, delete, move or assign a role; null if they may. */
export function roleLockedReason(g, role) {
  if (role.id === g.id) return null;
  if (role.managed) return "This role is managed by an integration (a bot's role) and cannot be changed by hand.";
  if (isOwner(g)) return null;
  const top = topRole(g, me());
  if (!top || rankOf(g, role) >= rankOf(g, top)) {
    return `This role is at or above your highest role${top ? ` (${top.name})` : ""}, so you cannot change or assign it.`;
  }
  return null;
}

/** Why the user may not give a permission; null if they hold it (or are the owner). */
export function grantReason(g, perm) {
  const mine = basePermissions(g, me());
  return (mine & perm) === perm ? null : "You don't have this permission yourself, so you cannot grant or deny it.";
}

let reasonSeq = 0;

/**
 * Disables a control and says why: its title (on hover) and a
 * visually-hidden note it is described by (for screen readers). Returns
 * the control with its note, to put in the page together.
 */
export function disabledWith(el, reason) {
  if (!reason) return el;
  const id = `reason-${++reasonSeq}`;
  el.disabled = true;
  el.title = reason;
  el.setAttribute("aria-describedby", [el.getAttribute("aria-describedby"), id].filter(Boolean).join(" "));
  return [el, h("span.visually-hidden", { id }, reason)];
}

// ---- the editor ----

/**
 * The permission editor. `mode` "role": a switch per permission (on/off);
 * "overwrite": allow / neutral / deny per permission. `value`: {allow,
 * deny} (BigInts; a role's permissions are `allow`). `lockedReason(perm)`
 * says why a permission may not be changed (null: it may). `onChange`
 * hears every change. Returns {el, value()}.
 */
export function permissionEditor({ mode, value, perms = PERMISSIONS, lockedReason = () => null, onChange = () => {}, idPrefix = "perm" }) {
  let allow = value.allow || 0n;
  let deny = value.deny || 0n;
  const rows = perms.map((p) => {
    const id = `${idPrefix}-${p.key}`;
    const locked = lockedReason(p.value);
    if (mode === "role") {
      const on = !!(allow & p.value);
      // A permission the role has may always be taken away (the server allows it).
      const box = h("input", { type: "checkbox", id, role: "switch", checked: on, dataset: { perm: p.key } });
      box.addEventListener("change", () => {
        allow = box.checked ? allow | p.value : allow & ~p.value;
        onChange();
      });
      return h("li.perm-row", {}, h("label.perm-name", { for: id }, p.name), disabledWith(box, on ? null : locked));
    }
    const current = allow & p.value ? "allow" : deny & p.value ? "deny" : "neutral";
    const group = h("div.tri", { role: "radiogroup", "aria-label": p.name, dataset: { perm: p.key } },
      [["deny", "✕", "Deny"], ["neutral", "/", "Neutral"], ["allow", "✓", "Allow"]].map(([v, mark, word]) => {
        const input = h("input", { type: "radio", name: id, value: v, id: `${id}-${v}`, checked: v === current, "aria-label": `${word}: ${p.name}` });
        input.addEventListener("change", () => {
          allow &= ~p.value;
          deny &= ~p.value;
          if (v === "allow") allow |= p.value;
          if (v === "deny") deny |= p.value;
          onChange();
        });
        // A permission the user lacks can still be cleared (neutral): the
        // server refuses an overwrite that allows or denies it.
        return h(`label.tri-choice.${v}`, { for: `${id}-${v}`, title: word }, disabledWith(input, v === current || v === "neutral" ? null : locked), h("span", { "aria-hidden": "true" }, mark));
      }));
    return h("li.perm-row", {}, h("span.perm-name", {}, p.name), group);
  });
  return { el: h("ul.perm-list", {}, rows), value: () => ({ allow, deny }) };
}
