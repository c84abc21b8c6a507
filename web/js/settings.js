// The settings view that server settings and channel settings share: a
// modal dialog over the app, its sections listed on the left (a list of
// buttons, the current one marked), the chosen section on the right.
// Escape or ✕ closes it, and the focus goes back to what opened it.

import { fill, h } from "./dom.js";

/** The one open now: {title, sections, current, opener, key}, or null. */
let open = null;
let dlg = null;

function shell() {
  if (dlg) return dlg;
  dlg = h("dialog.settings", { id: "settings", "aria-labelledby": "settings-title" },
    h("nav.settings-nav", { "aria-label": "Settings sections" }, h("ul", { id: "settings-sections" })),
    h("div.settings-main", {},
      h("header.settings-head", {},
        h("h2", { id: "settings-title" }),
        h("button.small", { type: "button", id: "settings-close", "aria-label": "Close settings", onclick: () => closeSettings() }, "✕")),
      h("div.settings-body", { id: "settings-body" })));
  // Escape: the browser closes the dialog; the focus still goes back.
  dlg.addEventListener("close", () => { if (open) closeSettings(); });
  document.body.append(dlg);
  return dlg;
}

/**
 * Opens settings. `key` names what they are of (a server, a channel: `refresh`
 * re-renders only those); `sections`: [{id, label, render() -> nodes}].
 */
export function openSettings({ key, title, sections, section, opener }) {
  const d = shell();
  open = { key, title, sections, current: section || sections[0].id, opener };
  render();
  if (!d.open) d.showModal();
  const first = d.querySelector(".settings-body input, .settings-body select, .settings-body button");
  (first || d.querySelector("#settings-close")).focus();
}

export function closeSettings() {
  if (!open) return;
  const back = open.opener;
  open = null;
  if (dlg && dlg.open) dlg.close();
  if (dlg) fill(dlg.querySelector("#settings-body"));
  if (back && back.isConnected) back.focus();
}

/** What the settings open now are of, or null. */
export const settingsOpen = () => (open ? open.key : null);

/** Shows another section. */
export function showSection(id) {
  if (!open) return;
  open.current = id;
  render();
  const heading = dlg.querySelector(".settings-body h3");
  if (heading) { heading.tabIndex = -1; heading.focus(); }
}

/**
 * Re-renders the open settings if they are of `key` (after a dispatch),
 * keeping the focus on the control it was on, by id. A section may leave a
 * form alone while it is being edited (its render decides).
 */
export function refreshSettings(key, { title } = {}) {
  if (!open || open.key !== key) return;
  if (title) open.title = title;
  const focusedId = document.activeElement && dlg.contains(document.activeElement) ? document.activeElement.id : null;
  render();
  const again = focusedId && document.getElementById(focusedId);
  if (again) again.focus();
}

function render() {
  dlg.querySelector("#settings-title").textContent = open.title;
  fill(dlg.querySelector("#settings-sections"), open.sections.map((s) => h("li", {},
    h("button.settings-tab", {
      type: "button", "aria-current": s.id === open.current ? "page" : "false",
      dataset: { section: s.id }, onclick: () => showSection(s.id),
    }, s.label))));
  const section = open.sections.find((s) => s.id === open.current) || open.sections[0];
  const body = dlg.querySelector("#settings-body");
  // A form the user has changed and not saved stays as they left it: a
  // dispatch re-renders everything around it.
  const dirty = new Map([...body.querySelectorAll("form[data-dirty][id]")].map((f) => [f.id, f]));
  fill(body, section.render());
  for (const [id, form] of dirty) {
    const fresh = body.querySelector(`form[id="${id}"]`);
    if (fresh) fresh.replaceWith(form);
  }
}

/** Marks a form changed (kept over re-renders) until it is saved or reset. */
export function trackDirty(form) {
  form.addEventListener("input", () => { form.dataset.dirty = "1"; });
  form.addEventListener("change", () => { form.dataset.dirty = "1"; });
  return form;
}

/** A labelled field: `<label for>` and the control (which needs an id), described by its hint. */
export function field(label, control, hint) {
  if (hint) control.setAttribute("aria-describedby", `${control.id}-hint`);
  return [h("label", { for: control.id }, label), control, hint ? h("p.hint", { id: `${control.id}-hint` }, hint) : null];
}
