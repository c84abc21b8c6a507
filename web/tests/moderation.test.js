// Moderation from the web client, in three browser contexts of a real
// Chromium against a real server: ada owns the server, mod holds a role
// with the moderation permissions, bob is a member. What a moderator does
// from a profile or a message, the member sees live.

import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
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
        await p.page.screenshot({ path: join(artifacts, `failed-moderation-${p.name}.png`) }).catch(() => {});
      }
      writeFileSync(join(artifacts, "failed-moderation-server.log"), server ? server.log.join("") : "");
      writeFileSync(join(artifacts, "failed-moderation-page-errors.json"), JSON.stringify(pageErrors, null, 2));
      throw err;
    }
  });
}

let server;
let browser;
const people = {};
const pageErrors = [];

// axe-core's own bundle, run in the page over the moderation views (the
// contexts bypass the page's Content-Security-Policy only so it can be
// evaluated there, as in a11y.test.js).
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
const serious = [];

/** axe-core over what `p` shows now: serious and critical violations are kept, named after `view`. */
async function audit(p, view) {
  const violations = await p.page.evaluate(async (source) => {
    if (!window.axe) (0, eval)(source);
    const result = await window.axe.run(document, { resultTypes: ["violations"] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")) }));
  }, axeSource);
  for (const v of violations.filter((x) => x.impact === "serious" || x.impact === "critical")) {
    serious.push(`${view}: ${v.id} (${v.impact}): ${v.help} — ${v.nodes.join(", ")}`);
  }
}

async function person(name) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, bypassCSP: true });
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
  people.mod = await person("mod");
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
const memberRow = (p, who) => p.page.locator("#member-list .member", { hasText: who.username });
const messageRow = (p, text) => p.page.locator("#message-list .message", { hasText: text });
const dlg = (p) => p.page.locator("#dialog");

/** A REST call as someone (for setting up, and for what the test checks behind the page). */
async function rest(p, method, path, body) {
  const res = await fetch(`${server.url}/api/v10${path}`, {
    method, headers: { Authorization: await token(p), "Content-Type": "application/json" }, body: body && JSON.stringify(body),
  });
  return { status: res.status, body: res.status === 204 ? null : await res.json().catch(() => null) };
}

/** Someone's profile popout, opened from another's member list. */
async function profileOf(p, who) {
  await memberRow(p, who).locator(".member-open").click();
  const profile = p.page.getByRole("dialog", { name: who.username });
  await profile.waitFor();
  return profile;
}

async function say(p, text) {
  await p.page.getByLabel("Message", { exact: true }).fill(text);
  await p.page.getByLabel("Message", { exact: true }).press("Enter");
}

let guildId;
let link;

// Discord's bits: KICK_MEMBERS, BAN_MEMBERS, MANAGE_MESSAGES, MUTE_MEMBERS,
// DEAFEN_MEMBERS, MOVE_MEMBERS, MODERATE_MEMBERS.
const MODERATOR = (1n << 1n) | (1n << 2n) | (1n << 13n) | (1n << 22n) | (1n << 23n) | (1n << 24n) | (1n << 40n);

test("moderation: ada makes a server; mod and bob join by the link; mod gets a Moderators role", async () => {
  for (const p of Object.values(people)) await register(p);
  const { ada, mod, bob } = people;
  await ada.page.getByRole("button", { name: "Create a server" }).click();
  await ada.page.getByLabel("Server name").fill("Mod Hall");
  await ada.page.getByRole("button", { name: "Create", exact: true }).click();
  await ada.page.locator("#channel-title").filter({ hasText: "# general" }).waitFor();
  guildId = await ada.page.evaluate(() => localStorage.getItem("hearth.guild"));

  await ada.page.getByRole("button", { name: "Invite people" }).click();
  link = await ada.page.getByLabel("Invite link").inputValue();
  await ada.page.getByRole("button", { name: "Done" }).click();
  for (const p of [mod, bob]) {
    await p.page.goto(link);
    await p.page.getByRole("button", { name: "Join", exact: true }).click();
    await p.page.locator("#guild-name").filter({ hasText: "Mod Hall" }).waitFor();
    await p.page.locator("#channel-title").filter({ hasText: "# general" }).waitFor();
  }
  // The role, and a second voice channel to move people to (set up behind the page).
  const role = await rest(ada, "POST", `/guilds/${guildId}/roles`, { name: "Moderators", permissions: MODERATOR.toString(), hoist: true });
  assert.equal(role.status, 200);
  assert.equal((await rest(ada, "PUT", `/guilds/${guildId}/members/${await myId(mod)}/roles/${role.body.id}`)).status, 204);
  assert.equal((await rest(ada, "POST", `/guilds/${guildId}/channels`, { name: "Stage", type: 2 })).status, 201);
  for (const p of [ada, mod, bob]) {
    await p.page.locator("#member-list section").filter({ has: p.page.getByRole("heading", { name: "Moderators — 1" }) }).locator(".member", { hasText: mod.username }).waitFor();
  }
  await bob.page.getByRole("button", { name: "voice channel Stage" }).waitFor();
});

test("moderation: mod cannot act on ada, the owner (disabled, saying why), but may on bob; bob has no moderation at all", async () => {
  const { ada, mod, bob } = people;
  const adas = await profileOf(mod, ada);
  await adas.getByRole("heading", { name: "Moderation" }).waitFor();
  for (const name of ["Time out", "Kick", "Ban"]) {
    const b = adas.getByRole("button", { name, exact: true });
    assert.equal(await b.isDisabled(), true, `${name} on the owner is disabled`);
    assert.match(await b.getAttribute("title"), /owns the server: nobody can/);
    // The reason is read out with the button too.
    const described = await b.getAttribute("aria-describedby");
    assert.match(await mod.page.locator(`#${described}`).textContent(), /owns the server/);
  }
  await audit(mod, "profile-owner-disabled");
  await mod.page.keyboard.press("Escape");
  const bobs = await profileOf(mod, bob);
  for (const name of ["Time out", "Kick", "Ban"]) {
    assert.equal(await bobs.getByRole("button", { name, exact: true }).isDisabled(), false, `${name} on bob is allowed`);
  }
  await mod.page.keyboard.press("Escape");
  // Bob, without the permissions, is offered none.
  await profileOf(bob, mod);
  assert.equal(await bob.page.getByRole("heading", { name: "Moderation" }).count(), 0);
  await bob.page.keyboard.press("Escape");
});

test("moderation: ada times bob out for 60 seconds; he sees the banner over a disabled composer, she sees the ⏱; lifted, his composer is back live", async () => {
  const { ada, mod, bob } = people;
  await say(bob, "hello from bob");
  await messageRow(ada, "hello from bob").waitFor();
  await messageRow(bob, "hello from bob").getByRole("button", { name: "Create Thread" }).waitFor({ state: "attached" });

  const profile = await profileOf(ada, bob);
  await profile.getByRole("button", { name: "Time out", exact: true }).click();
  await ada.page.getByRole("heading", { name: `Time out ${bob.username}` }).waitFor();
  await dlg(ada).getByLabel("Duration").selectOption({ label: "60 seconds" });
  await dlg(ada).getByLabel("Reason (optional)").fill("cool down");
  await audit(ada, "timeout-dialog");
  await dlg(ada).getByRole("button", { name: "Time out", exact: true }).click();
  await dlg(ada).waitFor({ state: "hidden" });

  await bob.page.locator("#timeout-banner").filter({ hasText: "You are timed out until" }).waitFor();
  await bob.page.waitForFunction(() => document.getElementById("composer-input").disabled);
  // Nor may he react.
  const own = messageRow(bob, "hello from bob");
  await bob.page.waitForFunction(() => [...document.querySelectorAll("#message-list .message button[aria-label='Add a reaction']")].every((b) => b.disabled));
  assert.match(await own.getByRole("button", { name: "Add a reaction" }).getAttribute("title"), /You are timed out until/);
  // Nor start a thread: the action is gone while the time-out lasts.
  assert.equal(await own.getByRole("button", { name: "Create Thread" }).count(), 0);
  for (const p of [ada, mod]) await memberRow(p, bob).getByRole("img", { name: /^timed out until / }).waitFor();
  const member = await rest(ada, "GET", `/guilds/${guildId}/members/${await myId(bob)}`);
  assert.ok(Date.parse(member.body.communication_disabled_until) > Date.now(), "the server holds the time-out");
  await bob.page.screenshot({ path: join(artifacts, "moderation-timeout-bob.png") });
  await audit(bob, "timed-out");

  const again = await profileOf(ada, bob);
  await again.getByText(/Timed out until/).waitFor();
  await again.getByRole("button", { name: "Remove time out" }).click();
  await bob.page.locator("#timeout-banner").waitFor({ state: "hidden" });
  await bob.page.waitForFunction(() => !document.getElementById("composer-input").disabled);
  await memberRow(ada, bob).getByRole("img", { name: /^timed out until / }).waitFor({ state: "detached" });
  await messageRow(bob, "hello from bob").getByRole("button", { name: "Create Thread" }).waitFor({ state: "attached" });
  assert.equal(await messageRow(bob, "hello from bob").getByRole("button", { name: "Add a reaction" }).isDisabled(), false);
  await ada.page.keyboard.press("Escape");
  await say(bob, "back again");
  await messageRow(ada, "back again").waitFor();
});

test("moderation: ada deletes bob's message (confirmed); it goes for bob live", async () => {
  const { ada, bob } = people;
  const row = messageRow(ada, "hello from bob");
  ada.page.once("dialog", (d) => d.accept());
  await row.hover();
  await row.getByRole("button", { name: "Delete message" }).click();
  await messageRow(bob, "hello from bob").waitFor({ state: "detached" });
  // Bob, without Manage Messages, is offered no Delete on ada's messages.
  await say(ada, "ada says hi");
  const adas = messageRow(bob, "ada says hi");
  await adas.waitFor();
  assert.equal(await adas.getByRole("button", { name: "Delete message" }).count(), 0);
  assert.equal(await adas.getByRole("button", { name: "Select messages" }).count(), 0);
});

test("moderation: mod selects three of bob's messages and deletes them together; they go for everyone", async () => {
  const { ada, mod, bob } = people;
  for (const text of ["bulk one", "bulk two", "bulk three"]) await say(bob, text);
  for (const p of [ada, mod]) await messageRow(p, "bulk three").waitFor();
  const first = messageRow(mod, "bulk one");
  await first.hover();
  await first.getByRole("button", { name: "Select messages" }).click();
  const bar = mod.page.getByRole("group", { name: "Selected messages" });
  await bar.getByText("1 selected").waitFor();
  // One alone is not a bulk delete: said before asking the server.
  const del = bar.getByRole("button", { name: "Delete", exact: true });
  assert.equal(await del.isDisabled(), true);
  assert.match(await del.getAttribute("title"), /at least 2 messages/);
  for (const text of ["bulk two", "bulk three"]) await messageRow(mod, text).getByRole("checkbox", { name: /^Select message from / }).check();
  await bar.getByText("3 selected").waitFor();
  assert.equal(await messageRow(mod, "bulk one").getByRole("checkbox").isChecked(), true);
  await mod.page.screenshot({ path: join(artifacts, "moderation-bulk-select.png") });
  await audit(mod, "bulk-select");
  await del.click();
  await mod.page.getByRole("heading", { name: "Delete 3 messages?" }).waitFor();
  await dlg(mod).getByRole("button", { name: "Delete", exact: true }).click();
  for (const p of [ada, mod, bob]) {
    for (const text of ["bulk one", "bulk two", "bulk three"]) await messageRow(p, text).waitFor({ state: "detached" });
  }
  await bar.waitFor({ state: "detached" });
  // The rest stays.
  await messageRow(bob, "back again").waitFor();
});

test("moderation: in voice, ada server-mutes bob (his panel says so), moves him to Stage, and disconnects him", async () => {
  const { ada, bob } = people;
  await bob.page.getByRole("button", { name: "voice channel General" }).click();
  await bob.page.locator("#voice-status").filter({ hasText: "Voice connected" }).waitFor();

  let profile = await profileOf(ada, bob);
  await profile.getByText("In voice: General").waitFor();
  await profile.getByRole("button", { name: "Server mute", exact: true }).click();
  await profile.getByRole("button", { name: "Remove server mute" }).waitFor();
  await profile.getByText(/server muted/).waitFor();
  await bob.page.locator("#voice-server-state").filter({ hasText: "Server muted" }).waitFor();
  const mute = bob.page.locator("#voice-mute");
  assert.match(await mute.getAttribute("title"), /cannot unmute yourself/);
  const described = await mute.getAttribute("aria-describedby");
  assert.match(await bob.page.locator(`#${described.split(" ").pop()}`).textContent(), /cannot unmute yourself/);
  await bob.page.screenshot({ path: join(artifacts, "moderation-server-muted-bob.png") });
  await audit(ada, "profile-voice-moderation");
  await audit(bob, "server-muted");

  // Unmuted again, the panel says nothing more.
  await profile.getByRole("button", { name: "Remove server mute" }).click();
  await bob.page.locator("#voice-server-state").waitFor({ state: "hidden" });
  assert.equal(await mute.getAttribute("title"), null);

  await profile.getByLabel("Move to").selectOption({ label: "Stage" });
  await profile.getByRole("button", { name: "Move", exact: true }).click();
  // Ada's sidebar shows him in Stage now, and his call carries on there.
  await ada.page.getByRole("list", { name: "In Stage" }).locator(".voice-user", { hasText: bob.username }).waitFor();
  await bob.page.locator("#voice-channel-name").filter({ hasText: "Stage" }).waitFor();
  await bob.page.locator("#voice-status").filter({ hasText: "Voice connected" }).waitFor();
  profile = await profileOf(ada, bob);
  await profile.getByText("In voice: Stage").waitFor();
  await profile.getByRole("button", { name: "Disconnect" }).click();
  await bob.page.getByRole("status").filter({ hasText: /You were disconnected from/ }).waitFor();
  await bob.page.locator("#voice-panel").waitFor({ state: "hidden" });
  await profile.getByText(/^In voice:/).waitFor({ state: "detached" });
  await ada.page.keyboard.press("Escape");
});

test("moderation: ada kicks bob; he sees he was removed and the server leaves his rail; he rejoins by the invite", async () => {
  const { ada, bob } = people;
  const profile = await profileOf(ada, bob);
  await profile.getByRole("button", { name: "Kick", exact: true }).click();
  await ada.page.getByRole("heading", { name: `Kick ${bob.username} from Mod Hall?` }).waitFor();
  await dlg(ada).getByLabel("Reason (optional)").fill("spam, then rejoin");
  await dlg(ada).getByRole("button", { name: "Kick", exact: true }).click();
  await memberRow(ada, bob).waitFor({ state: "detached" });

  await bob.page.getByRole("heading", { name: "You were removed from Mod Hall" }).waitFor();
  await bob.page.locator(`#guild-list [data-guild="${guildId}"]`).waitFor({ state: "detached" });
  await bob.page.screenshot({ path: join(artifacts, "moderation-kicked-bob.png") });
  await audit(bob, "removed-dialog");
  await dlg(bob).getByRole("button", { name: "OK" }).click();

  await bob.page.getByRole("button", { name: "Join a server with an invite" }).click();
  await bob.page.getByLabel("Invite link or code").fill(link);
  await dlg(bob).getByRole("button", { name: "Join", exact: true }).click();
  await bob.page.locator("#guild-name").filter({ hasText: "Mod Hall" }).waitFor();
  await memberRow(ada, bob).waitFor();
});

test("moderation: ada bans bob, deleting his last hour; his messages go, he sees he was removed, and the invite no longer lets him in", async () => {
  const { ada, mod, bob } = people;
  // Back, he finds the server as he left it (in the voice channel's view): to #general.
  await bob.page.getByRole("button", { name: /text channel general/ }).click();
  await bob.page.locator("#channel-title").filter({ hasText: "# general" }).waitFor();
  await say(bob, "about to be banned");
  for (const p of [ada, mod]) await messageRow(p, "about to be banned").waitFor();

  const profile = await profileOf(ada, bob);
  await profile.getByRole("button", { name: "Ban", exact: true }).click();
  await ada.page.getByRole("heading", { name: `Ban ${bob.username} from Mod Hall?` }).waitFor();
  await dlg(ada).getByLabel("Delete message history").selectOption({ label: "Previous hour" });
  await dlg(ada).getByLabel("Reason (optional)").fill("repeat offender");
  await audit(ada, "ban-dialog");
  await dlg(ada).getByRole("button", { name: "Ban", exact: true }).click();
  await memberRow(ada, bob).waitFor({ state: "detached" });
  // His messages of the last hour went with him, for everyone.
  for (const p of [ada, mod]) {
    await messageRow(p, "about to be banned").waitFor({ state: "detached" });
    await messageRow(p, "back again").waitFor({ state: "detached" });
  }
  const ban = await rest(ada, "GET", `/guilds/${guildId}/bans/${await myId(bob)}`);
  assert.equal(ban.status, 200);
  assert.equal(ban.body.reason, "repeat offender");

  await bob.page.getByRole("heading", { name: "You were removed from Mod Hall" }).waitFor();
  await bob.page.locator(`#guild-list [data-guild="${guildId}"]`).waitFor({ state: "detached" });
  await dlg(bob).getByRole("button", { name: "OK" }).click();
  await bob.page.getByRole("button", { name: "Join a server with an invite" }).click();
  await bob.page.getByLabel("Invite link or code").fill(link);
  await dlg(bob).getByRole("button", { name: "Join", exact: true }).click();
  await bob.page.locator("#dialog-error").filter({ hasText: "You are banned from that server." }).waitFor();
  await bob.page.screenshot({ path: join(artifacts, "moderation-banned-bob.png") });
  await dlg(bob).getByRole("button", { name: "Cancel" }).click();
  assert.equal(await bob.page.locator(`#guild-list [data-guild="${guildId}"]`).count(), 0);
});

test("moderation: the moderation views have no serious or critical accessibility violation", () => {
  assert.deepEqual(serious, []);
});

test("moderation: nothing failed in the page and nothing was fetched from elsewhere", () => {
  assert.deepEqual(pageErrors, []);
  for (const p of Object.values(people)) assert.deepEqual(p.foreign, [], `${p.name} fetched from outside the server`);
});
