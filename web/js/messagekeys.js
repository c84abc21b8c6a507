// The keyboard in a list of messages, as Discord does it: the list is one
// tab stop however long it is. Up and Down (Home, End) move through the
// messages; only the message the user is on has its buttons and links in
// the tab order, so Tab from the list goes on to the composer instead of
// through every message. When the list is drawn again (older history
// loaded, a message edited), the message that had the focus gets it back.

const CONTROLS = "a[href], button, input, select, textarea, [tabindex]";
const TYPING = new Set(["INPUT", "TEXTAREA", "SELECT"]);

/** Makes `scroller` (the focusable log) and `list` (its messages) one tab stop. */
export function initMessageKeys(scroller, list) {
  // The message whose controls are in the tab order, by id.
  let current = null;
  // Whether the focus was in the list when it last left it by being drawn
  // away (the focused node removed), rather than by the user moving on.
  let holding = false;
  let lastFocused = null;

  const messages = () => [...list.querySelectorAll(":scope > li[data-id]")];
  const messageOf = (el) => el && el.closest && el.closest("li[data-id]");
  const byId = (id) => id && list.querySelector(`:scope > li[data-id="${CSS.escape(id)}"]`);

  /** Controls of `li` in the tab order only if it is the current message. */
  function tame(li) {
    if (!li.hasAttribute("tabindex")) li.tabIndex = -1;
    const open = li.dataset.id === current;
    for (const c of li.querySelectorAll(CONTROLS)) {
      if (open) {
        if (c.dataset.tab !== undefined) {
          if (c.dataset.tab === "") c.removeAttribute("tabindex");
          else c.setAttribute("tabindex", c.dataset.tab);
          delete c.dataset.tab;
        }
      } else if (c.dataset.tab === undefined && c.getAttribute("tabindex") !== "-1") {
        c.dataset.tab = c.getAttribute("tabindex") ?? "";
        c.tabIndex = -1;
      }
    }
  }

  function setCurrent(id) {
    if (id === current) return;
    const before = byId(current);
    current = id;
    if (before) tame(before);
    const now = byId(id);
    if (now) tame(now);
  }

  function move(li) {
    if (!li) return;
    setCurrent(li.dataset.id);
    li.focus();
    li.scrollIntoView({ block: "nearest" });
  }

  scroller.addEventListener("keydown", (e) => {
    if (e.altKey || e.ctrlKey || e.metaKey || TYPING.has(e.target.tagName) || e.target.isContentEditable) return;
    const all = messages();
    if (!all.length) return;
    const here = messageOf(e.target);
    const at = here ? all.indexOf(here) : -1;
    let next = null;
    if (e.key === "ArrowUp") next = at < 0 ? all[all.length - 1] : all[Math.max(0, at - 1)];
    else if (e.key === "ArrowDown") next = at < 0 ? all[all.length - 1] : all[Math.min(all.length - 1, at + 1)];
    else if (e.key === "Home") next = all[0];
    else if (e.key === "End") next = all[all.length - 1];
    else return;
    e.preventDefault();
    // At the top, Up asks for older history as scrolling there would.
    if (e.key === "ArrowUp" && at === 0) {
      const older = scroller.querySelector(".load-older:not([hidden])");
      if (older) older.click();
    }
    move(next);
  });

  scroller.addEventListener("focusin", (e) => {
    holding = true;
    const li = messageOf(e.target);
    if (li && list.contains(li)) {
      lastFocused = li.dataset.id;
      setCurrent(li.dataset.id);
    }
  });
  scroller.addEventListener("focusout", (e) => {
    const gone = e.target;
    // Removed from the page (drawn again): keep holding. Otherwise the user
    // moved on, unless the focus stays inside the list.
    queueMicrotask(() => {
      if (gone.isConnected && !scroller.contains(document.activeElement)) holding = false;
    });
  });

  new MutationObserver(() => {
    for (const li of messages()) tame(li);
    const active = document.activeElement;
    if (holding && (!active || active === document.body)) {
      const back = byId(lastFocused);
      if (back) back.focus({ preventScroll: true });
      else scroller.focus({ preventScroll: true });
    }
  }).observe(list, { childList: true, subtree: true });
}
