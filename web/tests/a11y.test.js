// Accessibility: axe-core over every view of the client, in a real
// Chromium against a real server, with no serious or critical violation
// allowed; a screenshot of each view is kept as an artifact. Two people
// (and one on a phone) make the views exist: a server with messages, a
// reply, a reaction, a DM, a call, the panels and the dialogs.

import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { after, before, test as nodeTest } from "node:test";
import { artifacts, launchBrowser, startServer } from "./harness.js";

// axe-core's own bundle, run in the page. The contexts bypass the page's
// Content-Security-Policy only so this script can be evaluated there; what
// the app itself loads is checked against the policy by app.test.js.
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

let server;
let browser;
const people = {};
const pageErrors = [];
// Every view audited, with what axe found (all impacts), for the artifacts.
const report = {};

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
        await p.page.screenshot({ path: join(artifacts, `a11y-failed-${p.name}.png`) }).catch(() => {});
      }
      writeFileSync(join(artifacts, "a11y-failed-server.log"), server ? server.log.join("") : "");
      throw err;
    }
  });
}

async function person(name, viewport = { width: 1280, height: 800 }, device = {}) {
  const context = await browser.newContext({ viewport, bypassCSP: true, ...device });
  const page = await context.newPage();
  page.setDefaultTimeout(20000);
  page.on("pageerror", (err) => pageErrors.push(`${name}: ${err.message}`));
  return { name, context, page, username: `${name}_${Date.now() % 100000}` };
}

before(async () => {
  server = await startServer(["--heartbeat-interval-ms", "1000"]);
  browser = await launchBrowser();
  people.ada = await person("ada");
  people.bob = await person("bob");
  // A phone: a touch screen without hover.
  people.cy = await person("cy", { width: 390, height: 844 }, { hasTouch: true, isMobile: true });
});

after(async () => {
  writeFileSync(join(artifacts, "a11y-report.json"), JSON.stringify(report, null, 2));
  if (browser) await browser.close().catch(() => {});
  if (server) await server.stop();
});

// The serious and critical violations found, each naming its view, its
// rule and the elements: the last step asserts there are none, so one run
// lists them all.
const serious = [];

/**
 * Runs axe-core over what `p` shows now and keeps a screenshot named after
 * `view`.
 */
async function audit(p, view) {
  await p.page.screenshot({ path: join(artifacts, `view-${view}.png`) });
  const violations = await p.page.evaluate(async (source) => {
    if (!window.axe) (0, eval)(source);
    const result = await window.axe.run(document, { resultTypes: ["violations"] });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(" ")}: ${n.failureSummary.split("\n").slice(1).join(" ").trim()}`),
    }));
  }, axeSource);
  report[view] = violations;
  for (const v of violations.filter((v) => v.impact === "serious" || v.impact === "critical")) {
    serious.push(`${view}: ${v.id} (${v.impact}): ${v.help}\n    ${v.nodes.join("\n    ")}`);
  }
}

async function register(p) {
  await p.page.goto(server.url);
  await p.page.getByRole("tab", { name: "Register" }).click();
  await p.page.getByLabel("Username").fill(p.username);
  await p.page.getByLabel("Password").fill("correct horse battery");
  await p.page.getByRole("button", { name: "Create account" }).click();
  await p.page.locator("#me-name").filter({ hasText: p.username }).waitFor({ state: "attached" });
}

const dialog = (p) => p.page.locator("#dialog");

let inviteLink;

test("a11y: signing in and registering", async () => {
  const { ada } = people;
  await ada.page.goto(server.url);
  await ada.page.getByRole("button", { name: "Log in" }).waitFor();
  await audit(ada, "login");
  await ada.page.getByRole("tab", { name: "Register" }).click();
  await audit(ada, "register");
  await register(ada);
  await audit(ada, "no-servers");
  await ada.page.getByRole("button", { name: "Create a server" }).click();
  await audit(ada, "create-server-dialog");
  await ada.page.getByLabel("Server name").fill("Reading Room");
  await ada.page.getByRole("button", { name: "Create", exact: true }).click();
  await ada.page.locator("#channel-title").filter({ hasText: "# general" }).waitFor();
  await audit(ada, "empty-channel");
  await ada.page.getByRole("button", { name: "Invite people" }).click();
  inviteLink = await ada.page.getByLabel("Invite link").inputValue();
  await audit(ada, "invite-dialog");
  await ada.page.getByRole("button", { name: "Done" }).click();
});

test("a11y: an invite link, before and after signing up", async () => {
  const { bob, cy } = people;
  await bob.page.goto(inviteLink);
  await bob.page.getByRole("button", { name: "Create account" }).waitFor();
  await audit(bob, "invite-signed-out");
  await bob.page.getByLabel("Username").fill(bob.username);
  await bob.page.getByLabel("Password").fill("correct horse battery");
  await bob.page.getByRole("button", { name: "Create account" }).click();
  await bob.page.getByRole("heading", { name: "Join Reading Room?" }).waitFor();
  await audit(bob, "invite-join");
  await bob.page.getByRole("button", { name: "Join", exact: true }).click();
  await bob.page.locator("#channel-title").filter({ hasText: "# general" }).waitFor();
  await cy.page.goto(inviteLink);
  await cy.page.getByRole("button", { name: "Create account" }).waitFor();
  await cy.page.getByLabel("Username").fill(cy.username);
  await cy.page.getByLabel("Password").fill("correct horse battery");
  await cy.page.getByRole("button", { name: "Create account" }).click();
  await cy.page.getByRole("button", { name: "Join", exact: true }).click();
  await cy.page.locator("#channel-title").filter({ hasText: "# general" }).waitFor();
});

test("a11y: a channel with messages, a reply, a reaction and the panels", async () => {
  const { ada, bob } = people;
  const input = (p) => p.page.getByLabel("Message", { exact: true });
  await input(ada).fill(`Welcome @everyone, and hello ${bob.username}: see https://example.com/docs`);
  await input(ada).press("Enter");
  await input(bob).fill("Thanks! Glad to be here.");
  await input(bob).press("Enter");
  const adas = bob.page.locator(".message", { hasText: "Welcome" });
  await adas.waitFor();
  await adas.hover();
  await adas.getByRole("button", { name: `Reply to ${ada.username}` }).click();
  await input(bob).fill("A reply to the welcome");
  await input(bob).press("Enter");
  await ada.page.locator(".message", { hasText: "A reply to the welcome" }).waitFor();
  await audit(ada, "channel-with-messages");
  await audit(bob, "channel-as-member");

  const mine = ada.page.locator(".message", { hasText: "Welcome" }).first();
  await mine.hover();
  await mine.getByRole("button", { name: "Pin message" }).click();
  await ada.page.getByRole("button", { name: "Pins", exact: true }).click();
  await ada.page.getByRole("region", { name: "Pinned messages" }).waitFor();
  await audit(ada, "pins-panel");
  await ada.page.getByRole("button", { name: "Close pinned messages" }).click();

  await ada.page.getByRole("button", { name: "Threads", exact: true }).click();
  await ada.page.getByRole("region", { name: "Threads", exact: true }).waitFor();
  await audit(ada, "threads-panel");
  await ada.page.getByRole("button", { name: "Close threads" }).click();
});

test("a11y: dialogs and popouts: profile, user settings, notifications, a new channel", async () => {
  const { ada, bob } = people;
  await ada.page.locator("#member-list .member", { hasText: bob.username }).getByRole("button").first().click();
  await ada.page.getByRole("dialog").filter({ hasText: bob.username }).first().waitFor();
  await audit(ada, "profile-popout");
  await ada.page.keyboard.press("Escape");
  await ada.page.getByRole("button", { name: "User settings" }).click();
  const userSettings = ada.page.locator("#settings");
  await userSettings.waitFor();
  await audit(ada, "user-settings");
  await ada.page.keyboard.press("Escape");
  await userSettings.waitFor({ state: "hidden" });
  await ada.page.getByRole("button", { name: "Notification settings" }).click();
  await dialog(ada).waitFor();
  await audit(ada, "notification-settings");
  await ada.page.keyboard.press("Escape");
  await dialog(ada).waitFor({ state: "hidden" });
  await ada.page.getByRole("button", { name: "Create a channel" }).click();
  await dialog(ada).waitFor();
  await audit(ada, "create-channel-dialog");
  await ada.page.keyboard.press("Escape");
  await dialog(ada).waitFor({ state: "hidden" });

  // Server and channel settings, each section.
  const settings = ada.page.locator("#settings");
  await ada.page.getByRole("button", { name: "Server settings" }).click();
  await settings.getByRole("heading", { name: "Overview" }).waitFor();
  await audit(ada, "server-settings-overview");
  for (const section of ["Roles", "Invites"]) {
    await settings.getByRole("button", { name: section, exact: true }).click();
    await settings.getByRole("heading", { name: section, exact: true }).waitFor();
    await audit(ada, `server-settings-${section.toLowerCase()}`);
  }
  await ada.page.keyboard.press("Escape");
  await settings.waitFor({ state: "hidden" });
  await ada.page.getByRole("button", { name: "Edit channel general", exact: true }).click();
  await settings.getByRole("heading", { name: "Overview" }).waitFor();
  await audit(ada, "channel-settings-overview");
  await settings.getByRole("button", { name: "Permissions", exact: true }).click();
  await settings.getByRole("heading", { name: "Permissions", exact: true }).waitFor();
  await audit(ada, "channel-settings-permissions");
  await ada.page.keyboard.press("Escape");
  await settings.waitFor({ state: "hidden" });

  // The composer's helpers: suggestions and the emoji picker.
  const input = ada.page.getByLabel("Message", { exact: true });
  await input.fill("@");
  await input.pressSequentially("b");
  await ada.page.locator("#autocomplete").waitFor();
  await audit(ada, "autocomplete");
  await input.press("Escape");
  await input.fill("");
  await ada.page.getByRole("button", { name: "Emoji", exact: true }).click();
  await ada.page.getByRole("combobox", { name: "Search emoji" }).waitFor();
  await audit(ada, "emoji-picker");
  await ada.page.keyboard.press("Escape");
});

test("a11y: direct messages and search", async () => {
  const { ada, bob } = people;
  await bob.page.getByRole("button", { name: `Message ${ada.username}` }).click();
  const input = bob.page.getByLabel("Message", { exact: true });
  await input.fill("A private word");
  await input.press("Enter");
  await bob.page.locator(".message", { hasText: "A private word" }).waitFor();
  await audit(bob, "dm");
  await ada.page.getByRole("button", { name: /^Direct Messages/ }).click();
  await audit(ada, "dm-list");
  await ada.page.getByRole("button", { name: new RegExp(`direct message with ${bob.username}`) }).click();
  await ada.page.locator(".message", { hasText: "A private word" }).waitFor();
  const search = ada.page.getByRole("searchbox", { name: "Search messages" });
  await search.fill("private");
  await search.press("Enter");
  await ada.page.locator("#search-panel").filter({ hasText: "A private word" }).waitFor();
  await audit(ada, "search-results");
});

test("a11y: a call in the voice channel, with the camera on", async () => {
  const { ada, bob } = people;
  for (const p of [ada, bob]) {
    await p.page.getByRole("button", { name: "Reading Room", exact: true }).click();
    await p.page.getByRole("button", { name: "voice channel General" }).click();
    await p.page.locator("#voice-status").filter({ hasText: "Voice connected" }).waitFor();
  }
  await ada.page.getByRole("button", { name: "Camera" }).click();
  await ada.page.locator("#tiles .tile").nth(1).waitFor();
  await audit(ada, "voice-call");
  for (const p of [ada, bob]) await p.page.locator("#voice-leave").click();
});

test("a11y: keyboard only: skip links, the message list is one tab stop, arrows move through it, and the focus stays when older messages load", async () => {
  const { ada } = people;
  const page = ada.page;
  await page.getByRole("button", { name: "text channel general" }).click();
  await page.locator("#channel-title").filter({ hasText: "# general" }).waitFor();
  // 60 messages from webhooks: more than the page of history first loaded.
  const token = await page.evaluate(() => localStorage.getItem("hearth.token"));
  const channelId = await page.locator("#message-list").getAttribute("data-channel");
  const hooks = [];
  for (let i = 0; i < 12; i++) {
    const res = await fetch(`${server.url}/api/v10/channels/${channelId}/webhooks`, {
      method: "POST", headers: { Authorization: token, "Content-Type": "application/json" },
      body: JSON.stringify({ name: `hook${i}` }),
    });
    assert.equal(res.status, 200);
    hooks.push(await res.json());
  }
  for (let i = 1; i <= 60; i++) {
    const hook = hooks[i % hooks.length];
    for (let tries = 0; tries < 20; tries++) {
      const res = await fetch(`${server.url}/api/v10/webhooks/${hook.id}/${hook.token}?wait=true`, {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ content: `backlog ${i}` }),
      });
      if (res.status !== 429) { assert.equal(res.status, 200); break; }
      const wait = 50 + Math.ceil(1000 * Math.min(5, (await res.json()).retry_after));
      await new Promise((r) => setTimeout(r, wait));
    }
  }
  await page.reload();
  await page.locator("#message-list .message", { hasText: "backlog 60" }).waitFor();
  const focused = () => page.evaluate(() => {
    const a = document.activeElement;
    const li = a && a.closest("#message-list > li[data-id]");
    return { id: a && a.id, text: a && a.textContent.trim().slice(0, 40), inList: !!a && !!a.closest("#messages"),
      message: li ? li.dataset.id : null, messageText: li ? li.querySelector(".content")?.textContent : null, isMessage: a === li };
  });

  let now;
  // The first Tab reaches the skip link; it takes the focus to the messages.
  await page.keyboard.press("Tab");
  assert.equal((await focused()).text, "Skip to messages");
  await page.keyboard.press("Enter");
  assert.equal((await focused()).id, "messages");
  await audit(ada, "keyboard-skip-link");
  // One Tab leaves the list, past 50 messages with their buttons and links.
  await page.keyboard.press("Tab");
  now = await focused();
  assert.equal(now.inList, false, `Tab from the list goes on to the composer: ${JSON.stringify(now)}`);
  await page.keyboard.press("Shift+Tab");
  assert.equal((await focused()).id, "messages");
  // Up goes to the newest message, then the one before.
  await page.keyboard.press("ArrowUp");
  now = await focused();
  assert.ok(now.isMessage && now.messageText === "backlog 60", JSON.stringify(now));
  await page.keyboard.press("ArrowUp");
  now = await focused();
  assert.ok(now.isMessage && now.messageText === "backlog 59", JSON.stringify(now));
  await audit(ada, "keyboard-message-focused");
  // Tab goes into that message's own buttons, and Escape-free arrows come back.
  await page.keyboard.press("Tab");
  const inside = await focused();
  assert.ok(!inside.isMessage && inside.message === now.message, `Tab reaches a button of the focused message: ${JSON.stringify(inside)}`);
  await page.keyboard.press("Shift+Tab");
  // Home: the oldest loaded message. Reaching it loads the page before it,
  // as scrolling there does, and the focus stays on the message it was on.
  const backlog1 = page.locator("#message-list .message .content", { hasText: /^backlog 1$/ });
  assert.equal(await backlog1.count(), 0);
  await page.keyboard.press("Home");
  const top = await focused();
  assert.ok(top.isMessage, JSON.stringify(top));
  await backlog1.waitFor();
  const kept = await focused();
  assert.ok(kept.isMessage && kept.message === top.message, `the focus stays on the message: ${JSON.stringify(kept)} vs ${JSON.stringify(top)}`);
  await page.keyboard.press("ArrowUp");
  const older = await focused();
  assert.ok(older.isMessage && BigInt(older.message) < BigInt(top.message), JSON.stringify(older));
});

test("a11y: on a phone: a tap opens a message's actions with finger-sized buttons; the member list closes", async () => {
  const { cy, ada } = people;
  const page = cy.page;
  assert.equal(await page.evaluate(() => matchMedia("(hover: none)").matches), true, "the phone has no hover");
  await page.locator("#message-list .message", { hasText: "backlog 60" }).waitFor();
  await audit(cy, "phone-channel");
  const first = page.locator("#message-list .message", { hasText: /^.*backlog 59/ }).last();
  const second = page.locator("#message-list .message", { hasText: /^.*backlog 60/ }).last();
  const reply = (li) => li.getByRole("button", { name: /^Reply to / });
  // No row of buttons under every message: they come with a tap.
  assert.equal(await reply(first).isVisible(), false);
  await first.locator(".content").tap();
  await reply(first).waitFor();
  const box = await reply(first).boundingBox();
  assert.ok(box.width >= 44 && box.height >= 44, `a finger-sized target: ${JSON.stringify(box)}`);
  await audit(cy, "phone-message-actions");
  // Another message's tap moves the menu there.
  await second.locator(".content").tap();
  await reply(second).waitFor();
  assert.equal(await reply(first).isVisible(), false);
  // An action taken works and closes the row.
  await reply(second).tap();
  await page.locator("#reply-bar").waitFor();
  assert.equal(await reply(second).isVisible(), false);
  await page.getByRole("button", { name: "Cancel reply" }).tap();

  // The member list covers its own header button: its ✕ closes it.
  await page.getByRole("button", { name: "Members", exact: true }).tap();
  const members = page.locator("#members");
  await members.locator(".member", { hasText: ada.username }).waitFor();
  await audit(cy, "phone-members");
  await page.getByRole("button", { name: "Close member list" }).tap();
  await members.waitFor({ state: "hidden" });
  await page.getByRole("button", { name: "Members", exact: true }).tap();
  await members.waitFor();
  await page.keyboard.press("Escape");
  await members.waitFor({ state: "hidden" });

  await page.getByRole("button", { name: "Channels", exact: true }).tap();
  await audit(cy, "phone-drawer");
  // A plain member, who has no server settings, leaves from the header.
  await page.getByRole("button", { name: "Leave", exact: true }).tap();
  await page.locator("#dialog").getByRole("button", { name: "Leave server" }).tap();
  await page.getByRole("button", { name: "Reading Room", exact: true }).waitFor({ state: "detached" });
  const guilds = await (await fetch(`${server.url}/api/v10/users/@me/guilds`, {
    headers: { Authorization: await page.evaluate(() => localStorage.getItem("hearth.token")) },
  })).json();
  assert.deepEqual(guilds, []);
});

test("a11y: no view has a serious or critical accessibility violation", () => {
  assert.ok(Object.keys(report).length >= 20, `every view was audited: ${Object.keys(report).join(", ")}`);
  assert.deepEqual(serious, []);
});

test("a11y: nothing failed in the pages", () => {
  assert.deepEqual(pageErrors, []);
});
