// Small DOM helpers: build elements without innerHTML, so no text a user
// typed is ever parsed as markup.

/** h("button.small", {type: "button", onclick}, "text", child, ...) */
export function h(tag, attrs, ...children) {
  const [name, ...classes] = tag.split(".");
  const el = document.createElement(name || "div");
  if (classes.length) el.className = classes.join(" ");
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "text") el.textContent = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

export const $ = (id) => document.getElementById(id);

/** Replace every child of `el`. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/** The initials shown in place of an avatar. */
export function initials(name) {
  return (name || "?").replace(/[^\p{L}\p{N}]+/gu, " ").trim().split(" ").slice(0, 2)
    .map((w) => w[0]).join("").toUpperCase() || "?";
}

export function avatar(name) {
  return h("span.avatar", { "aria-hidden": "true" }, initials(name));
}

/** How long a notice stays: information briefly, an error for longer. */
const NOTICE_MS = { error: 30000, info: 6000 };

/**
 * A message the user should read: an error (the default) or information.
 * Each has a Dismiss button and goes by itself after a while (not while
 * the pointer or the focus is on it). `key` names the condition an error
 * is about: `clearNotices(key)` takes it away once that is put right.
 */
export function notify(text, kind = "error", { key } = {}) {
  const box = $("notices");
  // The same message twice in a row would only be noise.
  for (const n of box.children) if (n.dataset.text === text) n.remove();
  const dismiss = h("button.small", { type: "button", "aria-label": "Dismiss" }, "✕");
  const note = h(`div.notice.${kind}`, { role: kind === "error" ? "alert" : "status", dataset: { text } },
    h("span", {}, text), dismiss);
  if (key) note.dataset.key = key;
  dismiss.addEventListener("click", () => note.remove());
  box.append(note);
  const expire = () => {
    if (!note.isConnected) return;
    if (note.matches(":hover") || note.contains(document.activeElement)) setTimeout(expire, 2000);
    else note.remove();
  };
  setTimeout(expire, NOTICE_MS[kind] || NOTICE_MS.error);
  while (box.children.length > 4) box.firstElementChild.remove();
}

/** Takes away the notices about a condition that no longer holds. */
export function clearNotices(key) {
  for (const n of [...$("notices").children]) if (n.dataset.key === key) n.remove();
}

/**
 * A modal form in the page's one <dialog>. `fields`: [{name, label, type,
 * value, options, readonly}] (a `type: "checkbox"` is ticked when `value`
 * is true); `submit(values)` may throw an Error whose
 * message is shown in the dialog. Resolves to submit's result, or null if
 * cancelled. `cancel: false` leaves out the Cancel button (a dialog with
 * nothing to cancel; Escape still closes it).
 */
export function dialog({ title, fields = [], ok = "OK", body = [], cancel = true, submit = async (v) => v }) {
  const dlg = $("dialog");
  const form = $("dialog-form");
  $("dialog-title").textContent = title;
  $("dialog-error").textContent = "";
  $("dialog-ok").textContent = ok;
  $("dialog-cancel").hidden = !cancel;
  const inputs = fields.map((f) => {
    const id = `dialog-${f.name}`;
    // A checkbox sits before its label, and is in the values only when ticked ("on").
    if (f.type === "checkbox") {
      return h("div.check-row", {}, h("input", { id, name: f.name, type: "checkbox", checked: !!f.value }), h("label", { for: id }, f.label));
    }
    const input = f.options
      ? h("select", { id, name: f.name }, f.options.map(([v, label]) => h("option", { value: v, selected: v === f.value }, label)))
      : f.type === "textarea"
        ? h("textarea", { id, name: f.name, rows: 4, required: f.required, maxlength: f.maxlength, text: f.value ?? "" })
        : h("input", { id, name: f.name, type: f.type || "text", value: f.value ?? "", readonly: f.readonly, required: f.required, maxlength: f.maxlength, autocomplete: "off" });
    return [h("label", { for: id }, f.label), input];
  });
  fill($("dialog-body"), body, inputs);
  return new Promise((resolve) => {
    let busy = false;
    const finish = (result) => {
      form.onsubmit = null;
      $("dialog-cancel").onclick = null;
      dlg.onclose = null;
      if (dlg.open) dlg.close();
      resolve(result);
    };
    form.onsubmit = async (e) => {
      e.preventDefault();
      if (busy) return;
      busy = true;
      const values = Object.fromEntries(new FormData(form));
      try {
        finish(await submit(values));
      } catch (err) {
        $("dialog-error").textContent = err.message || String(err);
      } finally {
        busy = false;
      }
    };
    $("dialog-cancel").onclick = () => finish(null);
    dlg.onclose = () => finish(null);
    dlg.showModal();
    const first = dlg.querySelector("input:not([readonly]), select, textarea") || $("dialog-ok");
    first.focus();
    if (first.select) first.select();
  });
}

const ICONS = {
  // A loudspeaker, for voice channels.
  speaker: "M3 9v6h4l5 4V5L7 9H3zm13.5 3a4.5 4.5 0 0 0-2.5-4v8a4.5 4.5 0 0 0 2.5-4zM14 3.2v2.1a7 7 0 0 1 0 13.4v2.1a9 9 0 0 0 0-17.6z",
  // A hash sign, for text channels.
  hash: "M10 3 9 8H5l-.4 2h4L8 14H4l-.4 2h4l-1 5h2l1-5h4l-1 5h2l1-5h4l.4-2h-4l.8-4h4l.4-2h-4l1-5h-2l-1 5h-4l1-5h-2zm-.6 7h4l-.8 4h-4l.8-4z",
  // A paperclip, for attaching files.
  paperclip: "M16.5 6v11.5a4 4 0 0 1-8 0V5a2.5 2.5 0 0 1 5 0v10.5a1 1 0 0 1-2 0V6H10v9.5a2.5 2.5 0 0 0 5 0V5a4 4 0 0 0-8 0v12.5a5.5 5.5 0 0 0 11 0V6z",
  // A sheet with a folded corner, for a file.
  file: "M6 2a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8l-6-6zm7 7V3.5L18.5 9z",
  // An arrow into a tray, for downloading.
  download: "M19 9h-4V3H9v6H5l7 7zM5 18v2h14v-2z",
  // A padlock, for private threads.
  lock: "M12 2a5 5 0 0 0-5 5v3H6a2 2 0 0 0-2 2v8a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2v-8a2 2 0 0 0-2-2h-1V7a5 5 0 0 0-5-5zm-3 8V7a3 3 0 0 1 6 0v3z",
  // A telephone handset, for calls in DMs.
  phone: "M6.6 10.8a15.1 15.1 0 0 0 6.6 6.6l2.2-2.2a1 1 0 0 1 1-.24c1.1.36 2.3.56 3.6.56a1 1 0 0 1 1 1V20a1 1 0 0 1-1 1A17 17 0 0 1 3 4a1 1 0 0 1 1-1h3.5a1 1 0 0 1 1 1c0 1.25.2 2.45.56 3.57a1 1 0 0 1-.25 1z",
  // A bell, for notification settings.
  // A cog, for the user settings.
  gear: "M19.3 9.8L21.9 10.4L21.9 13.6L19.3 14.2L18.7 15.6L20.1 17.9L17.9 20.1L15.6 18.7L14.2 19.3L13.6 21.9L10.4 21.9L9.8 19.3L8.4 18.7L6.1 20.1L3.9 17.9L5.3 15.6L4.7 14.2L2.1 13.6L2.1 10.4L4.7 9.8L5.3 8.4L3.9 6.1L6.1 3.9L8.4 5.3L9.8 4.7L10.4 2.1L13.6 2.1L14.2 4.7L15.6 5.3L17.9 3.9L20.1 6.1L18.7 8.4zM12 8.6a3.4 3.4 0 1 0 0 6.8a3.4 3.4 0 1 0 0-6.8z",
  bell: "M12 3a1.5 1.5 0 0 0-1.5 1.5v.7A6 6 0 0 0 6 11v4.5L4 18v1h16v-1l-2-2.5V11a6 6 0 0 0-4.5-5.8v-.7A1.5 1.5 0 0 0 12 3zm-2 17a2 2 0 0 0 4 0z",
};

/** A small inline SVG icon (no icon font to fetch). */
export function icon(name) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", "icon");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", ICONS[name]);
  path.setAttribute("fill", "currentColor");
  svg.append(path);
  return svg;
}

/**
 * Where a user's avatar is: the server keeps the picture and the user
 * carries its hash (docs/protocol.md, avatars), as on Discord, at
 * `/avatars/{user id}/{hash}.png` on this server. Anything else (a hash
 * of another form, left from before) shows initials.
 */
export function avatarUrl(user) {
  const hash = user && user.avatar;
  return typeof hash === "string" && /^[0-9a-f]{32}$/.test(hash) ? `/avatars/${user.id}/${hash}.png` : null;
}

/** A user's avatar: their picture where the page may show it, else their initials. */
export function userAvatar(user, name) {
  const url = avatarUrl(user);
  return url ? h("img.avatar", { src: url, alt: "", "aria-hidden": "true" }) : avatar(name);
}
