// Push to talk: while the mode is on, holding the chosen key lets the
// call's microphone through and letting go closes it again (mic.js gates
// the sent track). The key is ignored while typing, so a message with the
// letter in it does not open the microphone; leaving the window lets go.

import { activeMic, voicePrefs } from "./mic.js";

/** Whether a key press belongs to a text field rather than to push to talk. */
function typing(target) {
  if (!target || !(target instanceof Element)) return false;
  if (target.isContentEditable) return true;
  const tag = target.tagName;
  if (tag === "TEXTAREA" || tag === "SELECT") return true;
  if (tag !== "INPUT") return false;
  // A checkbox or a slider takes no letters.
  return !["checkbox", "radio", "range", "button", "submit", "reset", "color", "file"].includes(target.type);
}

/** The key a person would recognise: "F", "Space", "Right Ctrl". */
export function keyLabel(e) {
  if (e.code === "Space") return "Space";
  if (/^Key[A-Z]$/.test(e.code)) return e.code.slice(3);
  if (/^Digit\d$/.test(e.code)) return e.code.slice(5);
  const side = e.location === 1 ? "Left " : e.location === 2 ? "Right " : "";
  const names = { Control: "Ctrl", " ": "Space" };
  return `${side}${names[e.key] || (e.key.length === 1 ? e.key.toUpperCase() : e.key)}`;
}

/** While the settings capture a new key, push to talk stands aside. */
let capturing = false;
export function captureKey(on) { capturing = on; }

function matches(e) {
  const prefs = voicePrefs();
  return prefs.mode === "ptt" && prefs.pttKey && e.code === prefs.pttKey;
}

export function initPushToTalk() {
  document.addEventListener("keydown", (e) => {
    if (capturing || !matches(e) || typing(e.target)) return;
    const mic = activeMic();
    if (!mic) return;
    // Space would otherwise press the focused button or scroll.
    e.preventDefault();
    if (!e.repeat) mic.setHeld(true);
  });
  document.addEventListener("keyup", (e) => {
    if (!matches(e)) return;
    const mic = activeMic();
    if (mic) mic.setHeld(false);
  });
  // A key let go in another window never comes back as a keyup here.
  window.addEventListener("blur", () => { const mic = activeMic(); if (mic) mic.setHeld(false); });
}
