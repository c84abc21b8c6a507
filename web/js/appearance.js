// Appearance, kept in this browser (localStorage): the theme (dark or
// light: app.css's variables under `:root[data-theme=light]`), compact
// messages (denser, no avatars: `:root.compact`) and the font size (the
// root's, which every `em` follows). Applied when this module loads,
// before the app renders anything, and at once when changed.

import { h } from "./dom.js";
import { field } from "./settings.js";

const KEY = "hearth.appearance";
const DEFAULTS = Object.freeze({ theme: "dark", compact: false, fontSize: 15 });
export const FONT_SIZES = [12, 13, 14, 15, 16, 18, 20];

export function appearance() {
  try {
    return { ...DEFAULTS, ...JSON.parse(localStorage.getItem(KEY) || "{}") };
  } catch {
    return { ...DEFAULTS };
  }
}

function applyAppearance(a = appearance()) {
  const root = document.documentElement;
  root.dataset.theme = a.theme === "light" ? "light" : "dark";
  root.classList.toggle("compact", !!a.compact);
  const size = Math.max(12, Math.min(20, Number(a.fontSize) || DEFAULTS.fontSize));
  // Set through the CSSOM: the page's CSP allows no inline style attribute.
  root.style.fontSize = `${size}px`;
}

export function setAppearance(change) {
  const a = { ...appearance(), ...change };
  localStorage.setItem(KEY, JSON.stringify(a));
  applyAppearance(a);
  return a;
}

// At load: the first paint already has the user's theme and size.
applyAppearance();

/** The user settings' "Appearance" section. */
export function appearanceSection() {
  const a = appearance();
  const themes = [["dark", "Dark"], ["light", "Light"]].map(([value, label]) => h("label.choice", {},
    h("input", {
      type: "radio", name: "theme", value, checked: a.theme === value,
      onchange: () => setAppearance({ theme: value }),
    }), label));
  const compact = h("input", {
    type: "checkbox", role: "switch", id: "appearance-compact", checked: a.compact, "aria-describedby": "appearance-compact-hint",
    onchange: (e) => setAppearance({ compact: e.target.checked }),
  });
  const sizeOut = h("output", { id: "appearance-font-size-value", for: "appearance-font-size" }, `${a.fontSize} px`);
  const size = h("input", {
    type: "range", id: "appearance-font-size", min: 12, max: 20, step: 1, value: a.fontSize,
    "aria-valuetext": `${a.fontSize} pixels`,
    oninput: (e) => {
      const v = Number(e.target.value);
      setAppearance({ fontSize: v });
      e.target.setAttribute("aria-valuetext", `${v} pixels`);
      sizeOut.textContent = `${v} px`;
    },
  });
  return h("section.settings-section", { "aria-labelledby": "appearance-title" },
    h("h3", { id: "appearance-title" }, "Appearance"),
    h("p.hint", {}, "Kept in this browser only."),
    h("fieldset.plain", {}, h("legend", {}, "Theme"), h("div.row", {}, themes)),
    h("div.switch-row", {}, compact, h("label", { for: "appearance-compact" }, "Compact mode")),
    h("p.hint", { id: "appearance-compact-hint" }, "More messages on screen: less space between them, and no avatars."),
    field("Font size", size, null),
    sizeOut);
}
