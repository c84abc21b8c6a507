// Touch screens: a message's buttons are not laid out under every message
// (there is no hover to reveal them); a tap on a message, or a long press,
// opens its actions as a row of buttons big enough for a finger (44 px,
// app.css), and a tap elsewhere closes it. One message's actions at a time.

const touch = matchMedia("(hover: none)");
// What a tap on it does itself: not a tap on the message.
const OWN = "a, button, input, select, textarea, video, audio, img, summary, [role=button], .reaction";

/** Tap menus for the messages under `root`. */
export function initTouchMenus(root) {
  let open = null;

  function close() {
    if (!open) return;
    open.classList.remove("actions-open");
    open = null;
  }

  function toggle(li) {
    if (!li.querySelector(".message-actions")) return;
    const was = open === li;
    close();
    if (was) return;
    open = li;
    li.classList.add("actions-open");
  }

  root.addEventListener("click", (e) => {
    if (!touch.matches) return;
    const li = e.target.closest("li.message");
    if (!li || e.target.closest(OWN)) {
      // An action taken closes the row it was in.
      if (li && open === li && e.target.closest(".message-actions")) queueMicrotask(close);
      return;
    }
    toggle(li);
  });
  // A long press on a touch screen is a context menu request.
  root.addEventListener("contextmenu", (e) => {
    if (!touch.matches) return;
    const li = e.target.closest("li.message");
    if (!li || e.target.closest("a, img, video")) return;
    e.preventDefault();
    if (open !== li) toggle(li);
  });
  document.addEventListener("click", (e) => { if (open && !open.contains(e.target)) close(); }, true);
}
