// "Invite people": a link to the open channel (or the server's first text
// channel), with Discord's choices of how long it lasts and how many may
// use it. Changing either makes a new link at once (the server edits no
// invite). And the server settings' "Invites": the server's usable
// invites (`GET /guilds/{id}/invites`, for Manage Server), kept live by
// INVITE_CREATE and INVITE_DELETE (state.js), each with Revoke.

import { api } from "./api.js";
import { $, dialog, h, notify } from "./dom.js";
import { formatTime } from "./markup.js";
import { apply, channel, displayName, emit, guild } from "./state.js";
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

// ---- the list (server settings) ----

async function loadInvites(g) {
  if (g.invitesLoading) return;
  g.invitesLoading = true;
  // Dispatches that come while the list loads wait here (state.js), then
  // apply on top of it: the answer may have been read before them.
  g.invitesPending = [];
  try {
    const list = await api("GET", `/guilds/${g.id}/invites`);
    g.invites = new Map(list.map((i) => [i.code, i]));
  } catch (err) {
    g.invitesError = err.message;
  } finally {
    g.invitesLoading = false;
  }
  const pending = g.invitesPending;
  g.invitesPending = [];
  for (const [t, d] of pending) apply(t, d);
  emit("invites", g.id);
}

async function revoke(g, invite, button) {
  const sure = await dialog({
    title: "Revoke invite?",
    ok: "Revoke",
    body: [h("p", {}, `The link ending in ${invite.code} stops working at once. People who joined through it stay.`)],
  });
  if (!sure) { button.focus(); return; }
  try {
    await api("DELETE", `/invites/${invite.code}`);
    // The dispatch says so too; the answer is enough for this list.
    if (g.invites) g.invites.delete(invite.code);
    emit("invites", g.id);
  } catch (err) {
    notify(`Couldn't revoke the invite: ${err.message}`);
  }
}

const uses = (i) => (i.max_uses ? `${i.uses} of ${i.max_uses}` : String(i.uses));
const expires = (i) => (i.expires_at ? formatTime(i.expires_at) : "Never");

/** The server settings' "Invites" section. */
export function invitesSection(g) {
  const title = h("h3", { id: "guild-invites-title" }, "Invites");
  if (!g.invites) {
    if (g.invitesError) return [title, h("p.form-error", { role: "alert" }, `Couldn't load the invites: ${g.invitesError}`)];
    loadInvites(g);
    return [title, h("p.hint", {}, "Loading…")];
  }
  const list = [...g.invites.values()].sort((a, b) => a.created_at.localeCompare(b.created_at));
  if (!list.length) return [title, h("p.hint", {}, "No invites. Make one with Invite in the server's header.")];
  return [
    title,
    h("table.invite-table", { "aria-labelledby": "guild-invites-title" },
      h("thead", {}, h("tr", {},
        ["Inviter", "Code", "Channel", "Uses", "Expires", ""].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, list.map((i) => {
        const button = h("button.small.danger", { type: "button", "aria-label": `Revoke invite ${i.code}` }, "Revoke");
        button.addEventListener("click", () => revoke(g, i, button));
        return h("tr", { dataset: { code: i.code } },
          h("td", {}, i.inviter ? displayName(g.id, i.inviter.id) || i.inviter.username : "—"),
          h("td", {}, h("code", {}, i.code)),
          h("td", {}, `# ${i.channel.name}`),
          h("td", {}, uses(i)),
          h("td", {}, expires(i)),
          h("td", {}, button));
      }))),
  ];
}
