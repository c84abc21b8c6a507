// Signing in: the log-in and register form (docs/protocol.md §4.1).

import { api } from "./api.js";
import { $ } from "./dom.js";

let mode = "login";

function setMode(next) {
  mode = next;
  const login = next === "login";
  $("tab-login").setAttribute("aria-selected", String(login));
  $("tab-register").setAttribute("aria-selected", String(!login));
  $("auth-panel").setAttribute("aria-labelledby", login ? "tab-login" : "tab-register");
  $("auth-submit").textContent = login ? "Log in" : "Create account";
  $("auth-password").setAttribute("autocomplete", login ? "current-password" : "new-password");
  $("auth-error").textContent = "";
}

/** Someone has signed in on this device before (so has an account). */
const RETURNING = "hearth.returning";

/**
 * What the invite a visitor came by says, above the form: where to, or
 * that it is invalid (`invalid`); none when `text` is null.
 */
export function inviteNote(text, invalid = false) {
  const note = $("auth-invite");
  note.hidden = !text;
  note.textContent = text || "";
  note.classList.toggle("invalid", invalid);
}

/**
 * Shows the form; `onToken(token)` is called once the user is signed in.
 * By an invite (`invite`: what to say of it), a new visitor is offered to
 * create an account first.
 */
export function showAuth({ onToken, invite }) {
  $("app").hidden = true;
  $("auth-view").hidden = false;
  inviteNote(invite || null);
  if (invite && !localStorage.getItem(RETURNING)) mode = "register";
  setMode(mode);
  $("tab-login").onclick = () => setMode("login");
  $("tab-register").onclick = () => setMode("register");
  // Arrow keys move between the two tabs, as in any tab list.
  for (const tab of [$("tab-login"), $("tab-register")]) {
    tab.onkeydown = (e) => {
      if (e.key !== "ArrowLeft" && e.key !== "ArrowRight") return;
      const next = mode === "login" ? "register" : "login";
      setMode(next);
      $(next === "login" ? "tab-login" : "tab-register").focus();
    };
  }
  $("auth-form").onsubmit = async (e) => {
    e.preventDefault();
    const username = $("auth-username").value.trim().toLowerCase();
    const password = $("auth-password").value;
    const error = $("auth-error");
    if (username.length < 2) { error.textContent = "Usernames are 2 to 32 characters."; return; }
    if (password.length < 8) { error.textContent = "Passwords are at least 8 characters."; return; }
    error.textContent = "";
    $("auth-submit").disabled = true;
    try {
      const body = mode === "login" ? { login: username, password } : { username, password };
      const res = await api("POST", mode === "login" ? "/auth/login" : "/auth/register", body);
      $("auth-password").value = "";
      localStorage.setItem(RETURNING, "1");
      onToken(res.token);
    } catch (err) {
      error.textContent = mode === "login" && err.code === 50035 ? "Wrong username or password." : err.message;
    } finally {
      $("auth-submit").disabled = false;
    }
  };
  $("auth-username").focus();
}
