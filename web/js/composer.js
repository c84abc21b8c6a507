// The composer's helpers: the emoji button (the picker inserts at the
// caret), the suggestions while typing (autocomplete.js), and the length
// counter: past 1,800 characters it says how many are left of 2,000, in
// red below zero, and a message over 2,000 is refused before it is sent,
// its text kept.

import { initAutocomplete, outgoing } from "./autocomplete.js";
import { $, notify } from "./dom.js";
import { openEmojiPicker } from "./emojipicker.js";

export const MAX_LENGTH = 2000;
const SHOW_FROM = 1800;

/** Characters as the server counts them (code points, not UTF-16 units). */
export const lengthOf = (text) => [...text].length;

/** The text as it will go out (mentions picked, translated). */
export const outgoingText = (text) => outgoing(text);

function renderCount() {
  const n = lengthOf(outgoing($("composer-input").value.trim()));
  const box = $("char-count");
  box.hidden = n <= SHOW_FROM;
  const left = MAX_LENGTH - n;
  box.textContent = `${left} left`;
  box.classList.toggle("over", left < 0);
  box.setAttribute("aria-label", left < 0 ? `${-left} characters too many` : `${left} characters left`);
}

/** Whether `content` may be sent; if not, says why (the composer keeps it). */
export function checkLength(content) {
  const n = lengthOf(content);
  if (n <= MAX_LENGTH) return true;
  notify(`Your message is too long: ${n.toLocaleString()} characters, at most ${MAX_LENGTH.toLocaleString()}. Remove ${(n - MAX_LENGTH).toLocaleString()} to send it.`, "error", { key: "too-long" });
  return false;
}

/** Puts `text` at the composer's caret (in place of a selection). */
function insertAtCaret(text) {
  const input = $("composer-input");
  const { selectionStart: a, selectionEnd: b, value } = input;
  input.value = value.slice(0, a) + text + value.slice(b);
  input.focus();
  input.setSelectionRange(a + text.length, a + text.length);
  input.dispatchEvent(new Event("input", { bubbles: true }));
}

export function initComposer() {
  initAutocomplete();
  const input = $("composer-input");
  input.addEventListener("input", renderCount);
  const button = $("emoji-button");
  button.addEventListener("click", () => openEmojiPicker(button, insertAtCaret, { label: "Emoji picker" }));
}

/** After sending (or giving text back): the counter follows the composer. */
export const composerChanged = renderCount;
