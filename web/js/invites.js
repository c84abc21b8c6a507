// "Invite people": a link to the open channel (or the server's first text
// channel), with Discord's choices of how long it lasts and how many may
// use it. Changing either makes a new link at once (the server edits no
// invite). The server lists and revokes no invites yet
// (docs/protocol.md §4.9), so there is no list of them.

import { api } from "./api.js";
import { $, dialog, h, notify } from "./dom.js";
import { channel, guild } from "./state.js";
import { CHANNEL } from "./wire.js";

/** Discord's expiry choices, in seconds (0: never). */
export const EXPIRY = [[1800, "30 minutes"], [3600, "1 hour"], [21600, "6 hours"], [43200, "12 hours"], [86400, "1 day"], [604800, "7 days"], [0, "Never"]];
/** Discord's max-uses choices (0: no limit). */
export const MAX_USES = [[0, "No limit"], [1, "1 use"], [5, "5 uses"], [10, "10 uses"], [25, "25 uses"], [50, "50 uses"], [100, "100 uses"]];

/** What an invite's settings come to, in words. */
export function inviteTerms(maxAge, maxUses) {
  const age = EXPIRY.find(([s]) => s === maxAge);
  const when = maxAge ? `expires after ${age ? age[1] : `${maxAge} s`}` : "never expires";
  const uses = maxUses ? `, and works for ${maxUses === 1 ? "1 use" : `${maxUses} uses`}` : "";
  return `This link ${when}${uses}.`;
}

export async function createInvite() {
  const g = guild();
  if (!g) return;
  const c = channel();
  const target = c && c.type !== CHANNEL.CATEGORY ? c : g.channelOrder.find((x) => x.type === CHANNEL.TEXT) || g.channelOrder[0];
  if (!target) return;
  let settings = { max_age: 86400, max_uses: 0 };
  let invite;
  try {
    invite = await api("POST", `/channels/${target.id}/invites`, settings);
  } catch (err) {
    notify(`Couldn't create an invite: ${err.message}`);
    return;
  }
  const link = () => `${location.origin}/invite/${invite.code}`;
  const terms = h("p", { id: "invite-terms", "aria-live": "polite" }, inviteTerms(settings.max_age, settings.max_uses));
  const copy = h("button.small", { type: "button" }, "Copy");
  copy.addEventListener("click", async () => {
    const input = $("dialog-invite-link");
    input.select();
    try { await navigator.clipboard.writeText(link()); copy.textContent = "Copied"; } catch { document.execCommand("copy"); }
  });
  const expiry = h("select", { id: "invite-expiry" }, EXPIRY.map(([s, label]) => h("option", { value: String(s), selected: s === settings.max_age }, label)));
  const uses = h("select", { id: "invite-max-uses" }, MAX_USES.map(([n, label]) => h("option", { value: String(n), selected: n === settings.max_uses }, label)));
  const remake = async () => {
    const wanted = { max_age: Number(expiry.value), max_uses: Number(uses.value) };
    terms.textContent = "Making a new link…";
    try {
      invite = await api("POST", `/channels/${target.id}/invites`, wanted);
      settings = wanted;
      $("dialog-invite-link").value = link();
      copy.textContent = "Copy";
      terms.textContent = inviteTerms(settings.max_age, settings.max_uses);
    } catch (err) {
      terms.textContent = `Couldn't make a new link: ${err.message}`;
    }
  };
  expiry.addEventListener("change", remake);
  uses.addEventListener("change", remake);
  await dialog({
    title: `Invite friends to ${g.name}`,
    ok: "Done",
    body: [
      terms, copy,
      h("div.invite-options", { role: "group", "aria-label": "Invite settings" },
        h("label", { for: "invite-expiry" }, "Expire after"), expiry,
        h("label", { for: "invite-max-uses" }, "Max number of uses"), uses),
    ],
    fields: [{ name: "invite-link", label: "Invite link", value: link(), readonly: true }],
  });
}
