// Running a server from the web client, in two browser contexts of a real
// Chromium against a real server: ada owns it, bob is a member. What one
// changes in the server, channel and role settings, the other sees live.

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test as nodeTest } from "node:test";
import { artifacts, launchBrowser, startServer } from "./harness.js";

// The steps build on each other: after a failure, the rest are skipped.
let broken = null;
function test(name, fn) {
  nodeTest(name, async (t) => {
    if (broken) { t.skip(`after "${broken}" failed`); return; }
    try {
      await fn(t);
    } catch (err) {
      broken = name;
      for (const p of Object.values(people)) {
        await p.page.screenshot({ path: join(artifacts, `failed-admin-${p.name}.png`) }).catch(() => {});
      }
      writeFileSync(join(artifacts, "failed-admin-server.log"), server ? server.log.join("") : "");
      writeFileSync(join(artifacts, "failed-admin-page-errors.json"), JSON.stringify(pageErrors, null, 2));
      throw err;
    }
  });
}

let server;
let browser;
const people = {};
const pageErrors = [];

async function person(name) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.setDefaultTimeout(20000);
  page.on("pageerror", (err) => pageErrors.push(`${name}: ${err.message}`));
  page.on("console", (msg) => {
    const text = msg.text();
    if (msg.type() !== "error" || text.startsWith("Failed to load resource")) return;
    pageErrors.push(`${name} console: ${text}`);
  });
  // Nothing may be fetched from anywhere but the server.
  const foreign = [];
  page.on("request", (req) => {
    const url = req.url();
    const o = server.url;
    if (!(url.startsWith(o) || url.startsWith(o.replace("http:", "ws:")) || url.startsWith(`blob:${o}`))) foreign.push(url);
  });
  return { name, context, page, foreign, username: `${name}_${Date.now() % 100000}` };
}

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  people.ada = await person("ada");
  people.bob = await person("bob");
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  if (server) await server.stop();
});

async function register(p) {
  await p.page.goto(server.url);
  await p.page.getByRole("tab", { name: "Register" }).click();
  await p.page.getByLabel("Username").fill(p.username);
  await p.page.getByLabel("Password").fill("correct horse battery");
  await p.page.getByRole("button", { name: "Create account" }).click();
  await p.page.locator("#me-name").filter({ hasText: p.username }).waitFor({ state: "attached" });
}

const myId = (p) => p.page.evaluate(() => window.hearthDebug.me().id);
const token = (p) => p.page.evaluate(() => localStorage.getItem("hearth.token"));
const settings = (p) => p.page.locator("#settings");
const memberRow = (p, who) => p.page.locator(`#member-list .member`, { hasText: who.username });

/** A REST call as someone (for what the test checks behind the page). */
async function rest(p, method, path, body) {
  const res = await fetch(`${server.url}/api/v10${path}`, {
    method, headers: { Authorization: await token(p), "Content-Type": "application/json" }, body: body && JSON.stringify(body),
  });
  return { status: res.status, body: res.status === 204 ? null : await res.json().catch(() => null) };
}

let guildId;

test("admin: an invite of one use, lasting 30 minutes, lets bob in once; a member without rights sees no settings", async () => {
  for (const p of Object.values(people)) await register(p);
  const { ada, bob } = people;
  await ada.page.getByRole("button", { name: "Create a server" }).click();
  await ada.page.getByLabel("Server name").fill("Guild Hall");
  await ada.page.getByRole("button", { name: "Create", exact: true }).click();
  await ada.page.locator("#channel-title").filter({ hasText: "# general" }).waitFor();
  guildId = await ada.page.evaluate(() => localStorage.getItem("hearth.guild"));

  await ada.page.getByRole("button", { name: "Invite people" }).click();
  await ada.page.getByLabel("Expire after").selectOption({ label: "30 minutes" });
  await ada.page.locator("#invite-terms").filter({ hasText: "expires after 30 minutes." }).waitFor();
  await ada.page.getByLabel("Max number of uses").selectOption({ label: "1 use" });
  await ada.page.locator("#invite-terms").filter({ hasText: "This link expires after 30 minutes, and works for 1 use." }).waitFor();
  const link = await ada.page.getByLabel("Invite link").inputValue();
  const code = link.split("/").pop();
  // The server made the link with those terms.
  const invite = await (await fetch(`${server.url}/api/v10/invites/${code}`)).json();
  assert.equal(invite.max_uses, 1);
  assert.equal(invite.max_age, 1800);
  await ada.page.getByRole("button", { name: "Done" }).click();

  await bob.page.goto(link);
  await bob.page.getByRole("button", { name: "Join", exact: true }).click();
  await bob.page.locator("#guild-name").filter({ hasText: "Guild Hall" }).waitFor();
  // Used once, it is gone.
  assert.equal((await fetch(`${server.url}/api/v10/invites/${code}`)).status, 404);

  // The owner has the gears; bob, with no rights, sees nothing new.
  await ada.page.getByRole("button", { name: "Server settings" }).waitFor();
  await ada.page.getByRole("button", { name: "Edit channel general", exact: true }).waitFor({ state: "attached" });
  await bob.page.locator("#channel-title").filter({ hasText: "# general" }).waitFor();
  assert.equal(await bob.page.getByRole("button", { name: "Server settings" }).isVisible(), false);
  assert.equal(await bob.page.getByRole("button", { name: "Edit channel general", exact: true }).count(), 0);
  // The owner wears the crown in both lists.
  for (const p of [ada, bob]) await memberRow(p, ada).getByRole("img", { name: "Server owner" }).waitFor();
  assert.equal(await memberRow(ada, bob).getByRole("img", { name: "Server owner" }).count(), 0);
});

test("admin: ada renames the server in its settings, and bob sees the new name", async () => {
  const { ada, bob } = people;
  await ada.page.getByRole("button", { name: "Server settings" }).click();
  await settings(ada).getByRole("heading", { name: "Server settings — Guild Hall" }).waitFor();
  await settings(ada).getByLabel("Server name").fill("Guild Hall West");
  await settings(ada).getByLabel("Default notification settings").selectOption({ label: "Only @mentions" });
  await settings(ada).getByRole("button", { name: "Save changes" }).click();
  await bob.page.locator("#guild-name").filter({ hasText: "Guild Hall West" }).waitFor();
  // Bob, who never chose, starts from the server's new default.
  await bob.page.getByRole("button", { name: "Notification settings" }).click();
  assert.equal(await bob.page.locator("#dialog").getByLabel("Notify me of").inputValue(), "1");
  await bob.page.keyboard.press("Escape");
  await bob.page.locator("#dialog").waitFor({ state: "hidden" });
  await settings(ada).getByRole("heading", { name: "Server settings — Guild Hall West" }).waitFor();
  // The owner cannot leave; deleting is hers, and said why for the other.
  const leave = settings(ada).getByRole("button", { name: "Leave server" });
  assert.equal(await leave.isDisabled(), true);
  assert.match(await leave.getAttribute("title"), /owner cannot leave/);
  await ada.page.screenshot({ path: join(artifacts, "admin-server-settings.png") });
});

test("admin: ada makes a hoisted, coloured role and gives it to bob; both lists show him under it, in its colour", async () => {
  const { ada, bob } = people;
  await settings(ada).getByRole("button", { name: "Roles", exact: true }).click();
  await settings(ada).getByRole("button", { name: "Create role" }).click();
  await settings(ada).getByRole("heading", { name: "Edit role — new role" }).waitFor();
  const form = settings(ada).locator("form.role-form");
  await form.getByLabel("Role name").fill("Crew");
  await form.getByLabel("Role colour").fill("#e91e63");
  await form.getByLabel(/Display separately/).check();
  await form.getByRole("button", { name: "Save changes" }).click();
  await settings(ada).locator(".role-row .role-name", { hasText: "Crew" }).waitFor();
  await form.getByRole("heading", { name: "Edit role — Crew" }).waitFor();
  await settings(ada).locator("#settings-body").evaluate((el) => { el.scrollTop = 0; });
  await ada.page.screenshot({ path: join(artifacts, "admin-role-editor.png") });
  await ada.page.keyboard.press("Escape");
  await settings(ada).waitFor({ state: "hidden" });

  // Bob's profile, from the member list: Add role.
  await memberRow(ada, bob).locator(".member-open").click();
  const profile = ada.page.getByRole("dialog", { name: bob.username });
  await profile.getByLabel("Add role").selectOption({ label: "Crew" });
  await profile.locator(".role-chip", { hasText: "Crew" }).waitFor();
  await ada.page.keyboard.press("Escape");

  for (const p of [ada, bob]) {
    const section = p.page.locator("#member-list section").filter({ has: p.page.getByRole("heading", { name: "Crew — 1" }) });
    await section.locator(".member", { hasText: bob.username }).waitFor();
    const colour = await section.locator(".member", { hasText: bob.username }).locator(".member-name").evaluate((el) => getComputedStyle(el).color);
    assert.equal(colour, "rgb(233, 30, 99)", `${p.name} sees bob in Crew's colour`);
    // Ada, without the role, is under Online.
    await p.page.locator("#member-list section").filter({ has: p.page.getByRole("heading", { name: "Online — 1" }) }).locator(".member", { hasText: ada.username }).waitFor();
  }
  await bob.page.screenshot({ path: join(artifacts, "admin-members-bob.png") });
});

test("admin: ada makes a channel private in two clicks; it leaves bob's sidebar live, and an overwrite for his role brings it back", async () => {
  const { ada, bob } = people;
  await ada.page.getByRole("button", { name: "Create a channel" }).click();
  await ada.page.getByLabel("Channel name", { exact: true }).fill("plans");
  await ada.page.getByRole("button", { name: "Create", exact: true }).click();
  await ada.page.locator("#channel-title").filter({ hasText: "# plans" }).waitFor();
  const plansForBob = bob.page.getByRole("button", { name: /text channel plans/ });
  await plansForBob.waitFor();

  await ada.page.getByRole("button", { name: "Edit channel plans", exact: true }).click();
  await settings(ada).getByRole("button", { name: "Permissions", exact: true }).click();
  await settings(ada).getByRole("switch", { name: "Private channel" }).check();
  await plansForBob.waitFor({ state: "detached" });
  // Ada, the owner, keeps it; the explanation says what bob gets now.
  await ada.page.locator(".channel", { hasText: "plans" }).first().waitFor();
  await settings(ada).getByLabel("Member", { exact: true }).selectOption({ label: bob.username });
  await settings(ada).locator("#effective-line").filter({ hasText: `${bob.username} cannot see #plans` }).waitFor();
  await settings(ada).getByLabel("Member", { exact: true }).selectOption({ label: ada.username });
  await settings(ada).locator("#effective-line").filter({ hasText: `${ada.username} owns the server` }).waitFor();
  await settings(ada).getByLabel("Member", { exact: true }).selectOption({ label: bob.username });
  assert.equal(await settings(ada).getByRole("switch", { name: "Private channel" }).isChecked(), true);

  // Crew may see it: the role's overwrite, View Channels allowed.
  await settings(ada).getByLabel("Add a role or member").selectOption({ label: "Crew" });
  await settings(ada).getByRole("radio", { name: "Allow: View Channels" }).check();
  await settings(ada).locator("#effective-line").filter({ hasText: `${bob.username} can see #plans, send messages and read its history:` }).waitFor();
  await settings(ada).getByRole("button", { name: "Save permissions" }).click();
  await plansForBob.waitFor();
  await ada.page.screenshot({ path: join(artifacts, "admin-channel-permissions.png") });
  await ada.page.keyboard.press("Escape");
  await settings(ada).waitFor({ state: "hidden" });

  // Crew taken from bob in his profile (✕), the channel goes; given back, it returns.
  await memberRow(ada, bob).locator(".member-open").click();
  const profile = ada.page.getByRole("dialog", { name: bob.username });
  await profile.getByRole("button", { name: "Remove role Crew" }).click();
  await plansForBob.waitFor({ state: "detached" });
  await profile.getByLabel("Add role").selectOption({ label: "Crew" });
  await plansForBob.waitFor();
  await ada.page.keyboard.press("Escape");
});

test("admin: ada sets slow mode on #general; bob's composer says so, hers says she is exempt", async () => {
  const { ada, bob } = people;
  await ada.page.getByRole("button", { name: "Edit channel general", exact: true }).click();
  await settings(ada).getByLabel("Slow mode").selectOption({ label: "10s" });
  await settings(ada).getByRole("button", { name: "Save changes" }).click();
  await bob.page.getByRole("button", { name: /text channel general/ }).click();
  await bob.page.locator("#slowmode-hint").filter({ hasText: "Slow mode is on: 10s between messages." }).waitFor();
  await bob.page.screenshot({ path: join(artifacts, "admin-slowmode-bob.png") });
  await ada.page.keyboard.press("Escape");
  await ada.page.getByRole("button", { name: /text channel general/ }).click();
  await ada.page.locator("#slowmode-hint").filter({ hasText: "(you are exempt)" }).waitFor();
  // And off again.
  await ada.page.getByRole("button", { name: "Edit channel general", exact: true }).click();
  await settings(ada).getByLabel("Slow mode").selectOption({ label: "Off" });
  await settings(ada).getByRole("button", { name: "Save changes" }).click();
  await bob.page.locator("#slowmode-hint").waitFor({ state: "hidden" });
  await ada.page.keyboard.press("Escape");
});

test("admin: with Manage Roles, bob sees a role above his own disabled, saying why, and may manage one below", async () => {
  const { ada, bob } = people;
  // Crew gets Manage Roles; a new role, Leads, is moved above it.
  await ada.page.getByRole("button", { name: "Server settings" }).click();
  await settings(ada).getByRole("button", { name: "Roles", exact: true }).click();
  await settings(ada).getByRole("button", { name: "Edit role Crew" }).click();
  await settings(ada).locator("form.role-form").getByRole("switch", { name: "Manage Roles" }).check();
  await settings(ada).locator("form.role-form").getByRole("button", { name: "Save changes" }).click();
  await bob.page.getByRole("button", { name: "Server settings" }).waitFor();
  await settings(ada).getByRole("button", { name: "Create role" }).click();
  await settings(ada).getByRole("heading", { name: "Edit role — new role" }).waitFor();
  await settings(ada).locator("form.role-form").getByLabel("Role name").fill("Leads");
  await settings(ada).locator("form.role-form").getByRole("button", { name: "Save changes" }).click();
  await settings(ada).locator(".role-row .role-name", { hasText: "Leads" }).waitFor();
  const order = () => settings(ada).locator(".role-row .role-name").allTextContents();
  assert.deepEqual(await order(), ["Crew", "Leads", "@everyone"]);
  await settings(ada).getByRole("button", { name: "Move Leads up" }).click();
  await ada.page.waitForFunction(() => [...document.querySelectorAll("#settings .role-row .role-name")].map((e) => e.textContent).join() === "Leads,Crew,@everyone");

  await bob.page.getByRole("button", { name: "Server settings" }).click();
  await settings(bob).getByRole("button", { name: "Roles", exact: true }).click();
  await settings(bob).locator(".role-row .role-name", { hasText: "Leads" }).waitFor();
  const del = settings(bob).getByRole("button", { name: "Delete role Leads" });
  assert.equal(await del.isDisabled(), true);
  assert.match(await del.getAttribute("title"), /at or above your highest role \(Crew\)/);
  // The reason is read out with the button too.
  const described = await del.getAttribute("aria-describedby");
  assert.match(await bob.page.locator(`#${described}`).textContent(), /at or above your highest role/);
  assert.equal(await settings(bob).getByRole("button", { name: "Delete role Crew" }).isDisabled(), true);
  // Without Manage Server, the overview is shown, not changed.
  await settings(bob).getByRole("button", { name: "Overview", exact: true }).click();
  assert.equal(await settings(bob).getByLabel("Server name").isDisabled(), true);
  await settings(bob).getByRole("button", { name: "Roles", exact: true }).click();
  await bob.page.screenshot({ path: join(artifacts, "admin-roles-bob.png") });

  // A role bob makes lands below his own: his to change, and ada sees it live.
  await settings(bob).getByRole("button", { name: "Create role" }).click();
  await settings(bob).getByRole("heading", { name: "Edit role — new role" }).waitFor();
  await settings(bob).locator("form.role-form").getByLabel("Role name").fill("Helpers");
  await settings(bob).locator("form.role-form").getByRole("button", { name: "Save changes" }).click();
  await settings(ada).locator(".role-row .role-name", { hasText: "Helpers" }).waitFor();
  assert.equal(await settings(bob).getByRole("button", { name: "Delete role Helpers" }).isDisabled(), false);
  // In his own profile, Crew (his highest) cannot be taken away by him.
  await bob.page.keyboard.press("Escape");
  await memberRow(bob, bob).locator(".member-open").click();
  const profile = bob.page.getByRole("dialog", { name: bob.username });
  const remove = profile.getByRole("button", { name: "Remove role Crew" });
  assert.equal(await remove.isDisabled(), true);
  assert.match(await remove.getAttribute("title"), /at or above your highest role/);
  await bob.page.keyboard.press("Escape");
  await ada.page.keyboard.press("Escape");
});

test("admin: ada moves a channel up and folds a category; bob sees the new order; the fold is remembered", async () => {
  const { ada, bob } = people;
  const textOrder = (p) => p.page.locator("#channel-list > ul .channel[data-type='0'] .channel-open").allTextContents();
  assert.deepEqual(await textOrder(bob), ["general", "plans"]);
  await ada.page.getByRole("button", { name: "Edit channel plans", exact: true }).click();
  await settings(ada).getByRole("button", { name: "Move plans up" }).click();
  await bob.page.waitForFunction(() => [...document.querySelectorAll("#channel-list > ul .channel[data-type='0'] .channel-open")].map((e) => e.textContent).join() === "plans,general");
  await settings(ada).locator("#channel-order-where").filter({ hasText: "1 of 2 text channels" }).waitFor();
  assert.equal(await settings(ada).getByRole("button", { name: "Move plans up" }).isDisabled(), true);
  await ada.page.keyboard.press("Escape");

  await ada.page.getByRole("button", { name: "Create a channel" }).click();
  await ada.page.getByLabel("Channel name", { exact: true }).fill("Projects");
  await ada.page.getByLabel("Type", { exact: true }).selectOption("4");
  await ada.page.getByRole("button", { name: "Create", exact: true }).click();
  await ada.page.locator("#dialog").waitFor({ state: "hidden" });
  await ada.page.getByRole("button", { name: "Create a channel" }).click();
  await ada.page.getByLabel("Channel name", { exact: true }).fill("ideas");
  await ada.page.getByLabel("Category", { exact: true }).selectOption({ label: "Projects" });
  await ada.page.getByRole("button", { name: "Create", exact: true }).click();
  await ada.page.getByRole("button", { name: /text channel general/ }).click();
  const fold = ada.page.getByRole("button", { name: "Projects", exact: true });
  assert.equal(await fold.getAttribute("aria-expanded"), "true");
  await ada.page.getByRole("button", { name: /text channel ideas/ }).waitFor();
  await fold.click();
  await ada.page.getByRole("button", { name: /text channel ideas/ }).waitFor({ state: "detached" });
  assert.equal(await fold.getAttribute("aria-expanded"), "false");
  await ada.page.reload();
  await ada.page.locator("#channel-title").filter({ hasText: "# general" }).waitFor();
  assert.equal(await ada.page.getByRole("button", { name: "Projects", exact: true }).getAttribute("aria-expanded"), "false");
  assert.equal(await ada.page.getByRole("button", { name: /text channel ideas/ }).count(), 0);
  await ada.page.getByRole("button", { name: "Projects", exact: true }).click();
  await ada.page.getByRole("button", { name: /text channel ideas/ }).waitFor();
  // Bob's list is his own.
  await bob.page.getByRole("button", { name: /text channel ideas/ }).waitFor();
});

test("admin: ada sets her nickname from her own profile; bob sees it", async () => {
  const { ada, bob } = people;
  await memberRow(ada, ada).locator(".member-open").click();
  await ada.page.getByRole("dialog", { name: ada.username }).getByRole("button", { name: "Change nickname" }).click();
  await ada.page.getByLabel("Nickname", { exact: true }).fill("Captain Ada");
  await ada.page.getByRole("button", { name: "Save", exact: true }).click();
  await bob.page.locator("#member-list .member-name", { hasText: "Captain Ada" }).waitFor();
  const member = await rest(ada, "GET", `/guilds/${guildId}/members/${await myId(ada)}`);
  assert.equal(member.body.nick, "Captain Ada");
});

test("admin: ada lists the server's invites; one made meanwhile shows up live; Revoke ends it", async () => {
  const { ada } = people;
  await ada.page.getByRole("button", { name: "Server settings" }).click();
  await settings(ada).getByRole("button", { name: "Invites", exact: true }).click();
  await settings(ada).getByRole("heading", { name: "Invites" }).waitFor();
  const channels = await rest(ada, "GET", `/guilds/${guildId}/channels`);
  const general = channels.body.find((c) => c.name === "general");
  const made = await rest(ada, "POST", `/channels/${general.id}/invites`, { max_age: 3600, max_uses: 10 });
  assert.equal(made.status, 200);
  // INVITE_CREATE brings it into the open list.
  const row = settings(ada).locator(`tr[data-code="${made.body.code}"]`);
  await row.waitFor();
  assert.match(await row.innerText(), /# general[\s\S]*0 of 10/);
  await row.getByRole("button", { name: `Revoke invite ${made.body.code}` }).click();
  await ada.page.locator("#dialog").getByRole("button", { name: "Revoke", exact: true }).click();
  await row.waitFor({ state: "detached" });
  assert.equal((await fetch(`${server.url}/api/v10/invites/${made.body.code}`)).status, 404);
  await ada.page.keyboard.press("Escape");
  await settings(ada).waitFor({ state: "hidden" });
});

test("admin: ada limits the voice channel and deletes a channel (confirmed); bob's sidebar follows", async () => {
  const { ada, bob } = people;
  await ada.page.getByRole("button", { name: "Edit channel General", exact: true }).click();
  await settings(ada).getByRole("heading", { name: "Channel settings — General" }).waitFor();
  await settings(ada).getByLabel("User limit").fill("5");
  await settings(ada).getByLabel("Bitrate (kbps)").fill("96");
  await settings(ada).getByRole("button", { name: "Save changes" }).click();
  await ada.page.getByRole("status").filter({ hasText: "Saved General." }).waitFor();
  await ada.page.keyboard.press("Escape");
  // Opened again, the settings show what the server kept.
  await ada.page.getByRole("button", { name: "Edit channel General", exact: true }).click();
  assert.equal(await settings(ada).getByLabel("User limit").inputValue(), "5");
  assert.equal(await settings(ada).getByLabel("Bitrate (kbps)").inputValue(), "96");
  // A voice channel has no topic; slow mode it has.
  assert.equal(await settings(ada).getByLabel("Channel topic").count(), 0);
  await ada.page.keyboard.press("Escape");

  await ada.page.getByRole("button", { name: "Edit channel ideas", exact: true }).click();
  await settings(ada).getByRole("button", { name: "Delete channel", exact: true }).click();
  await ada.page.getByRole("heading", { name: "Delete channel ideas?" }).waitFor();
  await ada.page.locator("#dialog").getByRole("button", { name: "Delete channel", exact: true }).click();
  await bob.page.getByRole("button", { name: /text channel ideas/ }).waitFor({ state: "detached" });
  await settings(ada).waitFor({ state: "hidden" });
});

test("admin: bob leaves the server from its settings; ada deletes it once she has typed its name", async () => {
  const { ada, bob } = people;
  await bob.page.getByRole("button", { name: "Server settings" }).click();
  await settings(bob).getByRole("button", { name: "Overview", exact: true }).click();
  assert.equal(await settings(bob).getByRole("button", { name: "Delete server" }).isDisabled(), true);
  assert.match(await settings(bob).getByRole("button", { name: "Delete server" }).getAttribute("title"), /Only the server's owner/);
  await settings(bob).getByRole("button", { name: "Leave server" }).click();
  await bob.page.locator("#dialog").getByRole("button", { name: "Leave server" }).click();
  await bob.page.locator(`#guild-list [data-guild="${guildId}"]`).waitFor({ state: "detached" });
  await memberRow(ada, bob).waitFor({ state: "detached" });

  await ada.page.getByRole("button", { name: "Server settings" }).click();
  await settings(ada).getByRole("button", { name: "Overview", exact: true }).click();
  await settings(ada).getByRole("button", { name: "Delete server" }).click();
  await ada.page.getByLabel("Type the server's name to confirm").fill("Guild Hall");
  await ada.page.locator("#dialog").getByRole("button", { name: "Delete server" }).click();
  await ada.page.locator("#dialog-error").filter({ hasText: "That is not the server's name." }).waitFor();
  await ada.page.getByLabel("Type the server's name to confirm").fill("Guild Hall West");
  await ada.page.locator("#dialog").getByRole("button", { name: "Delete server" }).click();
  await ada.page.locator(`#guild-list [data-guild="${guildId}"]`).waitFor({ state: "detached" });
  await settings(ada).waitFor({ state: "hidden" });
  assert.equal((await rest(ada, "GET", `/guilds/${guildId}`)).status, 404);
});

test("admin: nothing failed in the page and nothing was fetched from elsewhere", () => {
  assert.deepEqual(pageErrors, []);
  for (const p of Object.values(people)) assert.deepEqual(p.foreign, [], `${p.name} fetched from outside the server`);
});
