// Two people use the web client in two browser contexts of a real
// Chromium against a real server: sign up, make a server, invite, chat,
// and share a voice channel with microphone and camera.

import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, test as nodeTest } from "node:test";
import { artifacts, clusterRedis, launchBrowser, sleep, startServer, until } from "./harness.js";

// The steps build on each other: after a failure, the rest are skipped.
let broken = null;
function test(name, fn) {
  nodeTest(name, async (t) => {
    if (broken) { t.skip(`after "${broken}" failed`); return; }
    try {
      await fn(t);
    } catch (err) {
      broken = name;
      // What each person saw when it failed, for whoever reads the log.
      for (const p of Object.values(people)) {
        await p.page.screenshot({ path: join(artifacts, `failed-${p.name}.png`) }).catch(() => {});
        const debug = await p.page.evaluate(async () => ({
          counters: window.hearthDebug.counters(),
          inbound: await window.hearthDebug.inboundStats(),
          voiceTrace: window.hearthDebug.voiceTrace(),
          calls: window.hearthDebug.calls(),
          lastServerOffer: window.hearthDebug.lastServerOffer(),
        })).catch((e) => ({ error: String(e) }));
        writeFileSync(join(artifacts, `failed-${p.name}.json`), JSON.stringify(debug, null, 2));
      }
      writeFileSync(join(artifacts, "failed-server.log"), server ? server.log.join("") : "");
      writeFileSync(join(artifacts, "failed-page-errors.json"), JSON.stringify(pageErrors, null, 2));
      for (const [region, node] of Object.entries(cluster)) writeFileSync(join(artifacts, `failed-node-${region}.log`), node.log.join(""));
      throw err;
    }
  });
}

let server;
// The nodes of the cluster test, by region.
const cluster = {};
let redis;
// A short heartbeat, so a dropped network is noticed within seconds.
const serverArgs = ["--heartbeat-interval-ms", "1000"];
let browser;
const people = {};
const pageErrors = [];

/** `origins`: the servers the page may talk to (by default the one server). */
async function person(name, viewport = { width: 1280, height: 800 }, origins = () => [server.url]) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.setDefaultTimeout(20000);
  page.on("pageerror", (err) => pageErrors.push(`${name}: ${err.message}`));
  // Errors the app logs; an HTTP error status is the app's to report, not a
  // fault, nor is a refused connection (a node that was killed).
  page.on("console", (msg) => {
    const text = msg.text();
    if (msg.type() !== "error" || text.startsWith("Failed to load resource") || text.endsWith("net::ERR_CONNECTION_REFUSED")) return;
    pageErrors.push(`${name} console: ${text}`);
  });
  // The video qualities the client asks of the voice gateway (op 42), as
  // they go on the wire.
  const qualitiesAsked = [];
  page.on("websocket", (ws) => ws.on("framesent", ({ payload }) => {
    if (typeof payload !== "string" || !payload.includes('"op":42')) return;
    qualitiesAsked.push(JSON.parse(payload).d);
  }));
  // Every WebSocket the page opens, in order.
  const sockets = [];
  page.on("websocket", (ws) => sockets.push(ws.url()));
  // Nothing may be fetched from anywhere but the server. (A blob: URL of
  // the server's origin is a file of the page's own memory: the preview of
  // a file about to be uploaded.)
  const foreign = [];
  page.on("request", (req) => {
    const url = req.url();
    if (!origins().some((o) => url.startsWith(o) || url.startsWith(o.replace("http:", "ws:")) || url.startsWith(`blob:${o}`))) foreign.push(url);
  });
  return { name, context, page, foreign, qualitiesAsked, sockets, username: `${name}_${Date.now() % 100000}` };
}

/** Inbound RTP per remote user, straight from RTCPeerConnection.getStats(). */
const stats = (p) => p.page.evaluate(() => window.hearthDebug.inboundStats());
const myId = (p) => p.page.evaluate(() => window.hearthDebug.me().id);

before(async () => {
  server = await startServer(serverArgs);
  browser = await launchBrowser();
  people.ada = await person("ada");
  people.bob = await person("bob");
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  if (server) await server.stop();
  // The nodes share the first one's data directory: it goes last.
  if (cluster.us) await cluster.us.stop({ keepData: true });
  if (cluster.eu) await cluster.eu.stop();
  if (redis) await redis.close();
});

async function register(p, url = server.url) {
  await p.page.goto(url);
  await p.page.getByRole("tab", { name: "Register" }).click();
  await p.page.getByLabel("Username").fill(p.username);
  await p.page.getByLabel("Password").fill("correct horse battery");
  await p.page.getByRole("button", { name: "Create account" }).click();
  await p.page.locator("#me-name").filter({ hasText: p.username }).waitFor({ state: "attached" });
}

let inviteLink;

test("both register; one makes a server and an invite; the other joins by the link", async () => {
  for (const p of Object.values(people)) await register(p);
  const { ada, bob } = people;
  await ada.page.getByRole("button", { name: "Create a server" }).click();
  await ada.page.getByLabel("Server name").fill("Weekend Workshop");
  await ada.page.getByRole("button", { name: "Create", exact: true }).click();
  await ada.page.locator("#guild-name").filter({ hasText: "Workshop" }).waitFor();
  // The name has the room it needs beside (or over) the header's buttons,
  // and the whole of it in its title.
  const guildName = ada.page.locator("#guild-name");
  assert.equal(await guildName.getAttribute("title"), "Weekend Workshop");
  assert.ok(await guildName.evaluate((el) => el.scrollWidth <= el.clientWidth), "the server name is shown whole");
  // A new server comes with #general, opened at once.
  await ada.page.locator("#channel-title").filter({ hasText: "# general" }).waitFor();

  await ada.page.getByRole("button", { name: "Invite people" }).click();
  const link = await ada.page.getByLabel("Invite link").inputValue();
  inviteLink = link;
  assert.match(link, /^http:\/\/127\.0\.0\.1:\d+\/invite\/[A-Za-z0-9_-]{8}$/);
  await ada.page.getByRole("button", { name: "Done" }).click();

  await bob.page.goto(link);
  await bob.page.getByRole("heading", { name: "Join Weekend Workshop?" }).waitFor();
  await bob.page.getByRole("button", { name: "Join", exact: true }).click();
  await bob.page.locator("#guild-name").filter({ hasText: "Workshop" }).waitFor();
  await bob.page.locator("#channel-title").filter({ hasText: "# general" }).waitFor();
  // Bob is no manager: no button to make or delete channels.
  assert.equal(await bob.page.getByRole("button", { name: "Create a channel" }).isVisible(), false);
  assert.equal(await ada.page.getByRole("button", { name: "Create a channel" }).isVisible(), true);
  // Each sees the other in the member list, online.
  await ada.page.locator(`#member-list .member[data-status="online"]`, { hasText: bob.username }).waitFor();
  await bob.page.locator(`#member-list .member[data-status="online"]`, { hasText: ada.username }).waitFor();
});

test("a message typed in one appears in the other, with the typing indicator first", async () => {
  const { ada, bob } = people;
  const input = ada.page.getByLabel("Message", { exact: true });
  await input.pressSequentially("hello from ada, ", { delay: 20 });
  await bob.page.locator("#typing").filter({ hasText: `${ada.username} is typing` }).waitFor();
  const bobId = await myId(bob);
  await input.pressSequentially(`<@${bobId}> welcome`, { delay: 5 });
  await input.press("Enter");
  const msg = bob.page.locator("#message-list .message", { hasText: "hello from ada" });
  await msg.waitFor();
  // The mention is shown by name and the message is marked for bob.
  await msg.locator(".mention", { hasText: `@${bob.username}` }).waitFor();
  assert.match(await msg.getAttribute("class"), /mentioned/);
  // The indicator goes away once the message is there.
  await bob.page.locator("#typing").filter({ hasText: /^$/ }).waitFor();

  // Bob replies; ada sees it live, with the reference.
  await msg.hover();
  await msg.getByRole("button", { name: `Reply to ${ada.username}` }).click();
  await bob.page.getByLabel("Message", { exact: true }).fill("hi ada");
  await bob.page.getByLabel("Message", { exact: true }).press("Enter");
  const reply = ada.page.locator("#message-list .message", { hasText: "hi ada" });
  await reply.locator(".reply-ref", { hasText: "hello from ada" }).waitFor();

  // Ada edits her message; bob sees the edit.
  await ada.page.getByLabel("Message", { exact: true }).press("ArrowUp");
  const box = ada.page.getByRole("textbox", { name: "Edit message" });
  await box.fill("hello from ada (edited text)");
  await box.press("Enter");
  await bob.page.locator("#message-list .message", { hasText: "edited text" }).locator(".edited").waitFor();
  await ada.page.screenshot({ path: join(artifacts, "chat.png") });

  // Bob deletes a message of his own; it goes for ada too.
  await bob.page.getByLabel("Message", { exact: true }).fill("oops, wrong channel");
  await bob.page.getByLabel("Message", { exact: true }).press("Enter");
  const oops = ada.page.locator("#message-list .message", { hasText: "oops, wrong channel" });
  await oops.waitFor();
  bob.page.once("dialog", (d) => d.accept());
  const mine = bob.page.locator("#message-list .message", { hasText: "oops, wrong channel" });
  await mine.hover();
  await mine.getByRole("button", { name: "Delete message" }).click();
  await oops.waitFor({ state: "detached" });
  // Nobody is offered to edit or delete someone else's message.
  // (Her message itself, not bob's reply quoting it.)
  const adas = bob.page.locator("#message-list .message").filter({ has: bob.page.locator(".content", { hasText: "edited text" }) });
  assert.equal(await adas.count(), 1);
  assert.equal(await adas.getByRole("button", { name: "Delete message" }).count(), 0);
  assert.equal(await adas.getByRole("button", { name: "Edit message" }).count(), 0);

  // Lines make the composer grow; sending shrinks it back. A link ends
  // before a ")" closing a parenthesis opened before it, not one of its own.
  const composer = ada.page.getByLabel("Message", { exact: true });
  const low = (await composer.boundingBox()).height;
  await composer.fill("(see https://example.com/a)\nsecond line\nthird line\nand https://en.wikipedia.org/wiki/Rust_(programming_language).");
  assert.ok((await composer.boundingBox()).height > low + 20, "the composer grew with its lines");
  await composer.press("Enter");
  const links = bob.page.locator("#message-list .message", { hasText: "(see https://example.com/a)" }).getByRole("link");
  await links.first().waitFor();
  assert.deepEqual(await links.evaluateAll((as) => as.map((a) => a.getAttribute("href"))),
    ["https://example.com/a", "https://en.wikipedia.org/wiki/Rust_(programming_language)"]);
  assert.equal((await composer.boundingBox()).height, low);

  // Eight sent as fast as they are typed, past the server's rate limit
  // (5 in 5 s): each shows at once, as sending, in the order typed; the
  // 429s only hold the queue, and they are stored in that order, once each.
  const quick = Array.from({ length: 8 }, (_, i) => `quick ${i + 1}`);
  for (const text of quick) { await composer.fill(text); await composer.press("Enter"); }
  const quickShown = (p) => p.page.locator("#message-list .message .content")
    .evaluateAll((els) => els.map((el) => el.textContent).filter((t) => /^quick \d$/.test(t)));
  assert.deepEqual(await quickShown(ada), quick);
  assert.ok(await ada.page.locator("#message-list .message.pending").count() > 0, "the last ones are still sending");
  await ada.page.waitForFunction(() => !document.querySelector("#message-list .message.pending"), null, { timeout: 30000 });
  await bob.page.locator("#message-list .message", { hasText: "quick 8" }).waitFor();
  assert.deepEqual(await quickShown(ada), quick);
  assert.deepEqual(await quickShown(bob), quick);
  const token = await ada.page.evaluate(() => localStorage.getItem("hearth.token"));
  const channelId = await ada.page.locator("#message-list").getAttribute("data-channel");
  const stored = await (await fetch(`${server.url}/api/v10/channels/${channelId}/messages?limit=20`, { headers: { Authorization: token } })).json();
  assert.deepEqual(stored.map((m) => m.content).filter((t) => /^quick \d$/.test(t)).reverse(), quick);
});

test("ada pins bob's reply: both see the notice and the pin in the panel, and unpinning takes it away", async () => {
  const { ada, bob } = people;
  const target = ada.page.locator("#message-list .message", { hasText: "hi ada" });
  await target.hover();
  await target.getByRole("button", { name: "Pin message" }).click();
  await bob.page.locator("#message-list .system-message", { hasText: `${ada.username} pinned a message` }).waitFor();
  // Bob may not pin, and is offered no button to.
  const forBob = bob.page.locator("#message-list .message", { hasText: "hi ada" });
  assert.equal(await forBob.getByRole("button", { name: "Pin message" }).count(), 0);
  await bob.page.getByRole("button", { name: "See all pinned messages" }).click();
  const bobsPins = bob.page.getByRole("region", { name: "Pinned messages" });
  await bobsPins.locator(".pin", { hasText: "hi ada" }).waitFor();
  // Ada unpins from her own panel; bob's open panel follows.
  await ada.page.getByRole("button", { name: "Pins", exact: true }).click();
  const adasPins = ada.page.getByRole("region", { name: "Pinned messages" });
  await adasPins.getByRole("button", { name: "Unpin message" }).click();
  await bobsPins.getByText("doesn't have any pinned messages").waitFor();
  await bob.page.getByRole("button", { name: "Close pinned messages" }).click();
  await ada.page.getByRole("button", { name: "Close pinned messages" }).click();
  await bobsPins.waitFor({ state: "hidden" });
});

test("a thread: ada starts one from a message and writes in it; bob opens it from the link under the message and answers; ada sees the answer live", async () => {
  const { ada, bob } = people;
  const adaInput = ada.page.getByLabel("Message", { exact: true });
  await adaInput.fill("shall we plan the release?");
  await adaInput.press("Enter");
  const starter = ada.page.locator("#message-list .message", { hasText: "shall we plan the release?" });
  await starter.hover();
  await starter.getByRole("button", { name: "Create Thread" }).click();
  // The name is offered from the message's text.
  const name = ada.page.getByLabel("Thread name");
  assert.equal(await name.inputValue(), "shall we plan the release?");
  await name.fill("release planning");
  await ada.page.getByRole("button", { name: "Create", exact: true }).click();
  // The new thread opens beside the chat, ready to write in.
  const adasThread = ada.page.getByRole("region", { name: "Thread release planning", exact: true });
  const adaThreadInput = adasThread.getByLabel("Message in thread", { exact: true });
  await adaThreadInput.waitFor();
  assert.equal(await ada.page.evaluate(() => document.activeElement.id), "thread-input");
  await adaThreadInput.fill("first, the changelog");
  await adaThreadInput.press("Enter");
  await adasThread.locator(".thread-message", { hasText: "first, the changelog" }).waitFor();
  // Its messages stay out of the channel.
  assert.equal(await ada.page.locator("#message-list .message", { hasText: "first, the changelog" }).count(), 0);

  // Bob sees the thread under the message, with its count, and opens it.
  const bobsStarter = bob.page.locator("#message-list .message", { hasText: "shall we plan the release?" });
  const link = bobsStarter.getByRole("button", { name: "Thread: release planning 1 message" });
  await link.click();
  const bobsThread = bob.page.getByRole("region", { name: "Thread release planning", exact: true });
  await bobsThread.locator(".thread-message", { hasText: "first, the changelog" }).waitFor();
  assert.match(await bobsThread.locator(".thread-starter").textContent(), /shall we plan the release\?/);
  const bobThreadInput = bobsThread.getByLabel("Message in thread", { exact: true });
  await bobThreadInput.fill("then the migration notes");
  await bobThreadInput.press("Enter");
  // Ada's open panel shows it live, and the link under her message counts both.
  await adasThread.locator(".thread-message", { hasText: "then the migration notes" }).waitFor();
  await starter.getByRole("button", { name: "Thread: release planning 2 messages" }).waitFor();
  await ada.page.screenshot({ path: join(artifacts, "thread.png") });
  assert.equal(await bob.page.locator("#message-list .message", { hasText: "then the migration notes" }).count(), 0);
  // Escape closes the panel.
  await bobThreadInput.press("Escape");
  await bobsThread.waitFor({ state: "hidden" });

  // Archived (as a moderator tool would, through the API), it is listed as
  // such in the channel's threads; bob's answer there reopens it.
  const token = await ada.page.evaluate(() => localStorage.getItem("hearth.token"));
  const threadId = await bobsStarter.getAttribute("data-id");
  const res = await fetch(`${server.url}/api/v10/channels/${threadId}`, {
    method: "PATCH", headers: { Authorization: token, "Content-Type": "application/json" }, body: JSON.stringify({ archived: true }),
  });
  assert.equal(res.status, 200);
  await bob.page.getByRole("button", { name: "Threads", exact: true }).click();
  const list = bob.page.getByRole("region", { name: "Threads", exact: true });
  const archived = list.getByRole("list", { name: "Archived" });
  await archived.getByRole("button", { name: "release planning 2 messages · archived" }).click();
  await bobsThread.getByText("This thread is archived. Sending a message reopens it.").waitFor();
  await bobThreadInput.fill("one more thing");
  await bobThreadInput.press("Enter");
  await bobsThread.getByText("This thread is archived.").waitFor({ state: "hidden" });
  await adasThread.locator(".thread-message", { hasText: "one more thing" }).waitFor();
  await bob.page.getByRole("button", { name: "Threads", exact: true }).click();
  await list.getByRole("list", { name: "Active" }).getByRole("button", { name: "release planning 3 messages" }).waitFor();
  await bob.page.getByRole("button", { name: "Close threads" }).click();
  await ada.page.getByRole("button", { name: "Close thread" }).click();
  await adasThread.waitFor({ state: "hidden" });
});

test("a private thread: ada starts one with New thread; bob sees it only once she adds him, answers in it, and leaves it", async () => {
  const { ada, bob } = people;
  // Ada starts a thread of its own from the channel's Threads list.
  await ada.page.getByRole("button", { name: "Threads", exact: true }).click();
  const adasList = ada.page.getByRole("region", { name: "Threads", exact: true });
  await adasList.getByRole("button", { name: "New thread" }).click();
  await ada.page.getByLabel("Thread name").fill("surprise party");
  const privately = ada.page.getByLabel("Private thread");
  assert.equal(await privately.isChecked(), false);
  await privately.check();
  await ada.page.getByRole("button", { name: "Create", exact: true }).click();
  const adasThread = ada.page.getByRole("region", { name: "Private thread surprise party", exact: true });
  const adaThreadInput = adasThread.getByLabel("Message in thread", { exact: true });
  await adaThreadInput.waitFor();
  assert.equal(await ada.page.evaluate(() => document.activeElement.id), "thread-input");
  // She is its member, and as the server's owner she moderates it.
  const adasActions = adasThread.getByRole("group", { name: "Thread actions" });
  await adasActions.getByRole("button", { name: "Leave", exact: true }).waitFor();
  for (const action of ["Add member", "Archive", "Lock"]) await adasActions.getByRole("button", { name: action, exact: true }).waitFor();
  await adasActions.getByText("1 member", { exact: true }).waitFor();
  await adaThreadInput.fill("cake or pie?");
  await adaThreadInput.press("Enter");
  await adasThread.locator(".thread-message", { hasText: "cake or pie?" }).waitFor();

  // Bob's list of the channel's threads (from the server, once loaded) does not have it.
  await bob.page.getByRole("button", { name: "Threads", exact: true }).click();
  const bobsList = bob.page.getByRole("region", { name: "Threads", exact: true });
  const bobsActive = bobsList.getByRole("list", { name: "Active" });
  await bobsActive.getByRole("button", { name: "release planning" }).waitFor();
  await bob.page.locator("#threads-panel:not([aria-busy])").waitFor();
  assert.equal(await bobsList.getByRole("button", { name: /surprise party/ }).count(), 0);

  // Ada adds him by name; it appears in his open list at once, marked private.
  await adasActions.getByRole("button", { name: "Add member", exact: true }).click();
  await ada.page.getByLabel("Member", { exact: true }).selectOption({ label: bob.username });
  await ada.page.getByRole("button", { name: "Add", exact: true }).click();
  await ada.page.locator("#dialog").waitFor({ state: "hidden" });
  await adasActions.getByText("2 members", { exact: true }).waitFor();
  const bobsEntry = bobsActive.getByRole("button", { name: "surprise party 1 message · private" });
  await bobsEntry.click();
  const bobsThread = bob.page.getByRole("region", { name: "Private thread surprise party", exact: true });
  await bobsThread.locator(".thread-message", { hasText: "cake or pie?" }).waitFor();
  // He is a member, and no moderator: no Archive, no Lock.
  const bobsActions = bobsThread.getByRole("group", { name: "Thread actions" });
  await bobsActions.getByRole("button", { name: "Leave", exact: true }).waitFor();
  assert.equal(await bobsActions.getByRole("button", { name: "Archive" }).count(), 0);
  assert.equal(await bobsActions.getByRole("button", { name: "Lock" }).isVisible(), false);
  const bobThreadInput = bobsThread.getByLabel("Message in thread", { exact: true });
  await bobThreadInput.fill("pie, obviously");
  await bobThreadInput.press("Enter");
  await adasThread.locator(".thread-message", { hasText: "pie, obviously" }).waitFor();

  // He leaves: the thread closes and is gone from his list; ada sees him go.
  await bobsActions.getByRole("button", { name: "Leave", exact: true }).click();
  await bobsThread.waitFor({ state: "hidden" });
  assert.equal(await bob.page.evaluate(() => document.activeElement.id), "toggle-threads");
  await adasActions.getByText("1 member", { exact: true }).waitFor();
  await bob.page.getByRole("button", { name: "Threads", exact: true }).click();
  await bobsActive.getByRole("button", { name: "release planning" }).waitFor();
  await bob.page.locator("#threads-panel:not([aria-busy])").waitFor();
  assert.equal(await bobsList.getByRole("button", { name: /surprise party/ }).count(), 0);
  await bob.page.getByRole("button", { name: "Close threads" }).click();

  // Ada archives it from the panel, and unarchives it again.
  await adasActions.getByRole("button", { name: "Archive", exact: true }).click();
  await adasThread.getByText("This thread is archived.").waitFor();
  await adasActions.getByRole("button", { name: "Unarchive", exact: true }).click();
  await adasThread.getByText("This thread is archived.").waitFor({ state: "hidden" });
  await ada.page.screenshot({ path: join(artifacts, "private-thread.png") });
  await ada.page.getByRole("button", { name: "Close thread" }).click();
  await adasThread.waitFor({ state: "hidden" });
});

test("bob messages ada privately from the member list; she finds it under Direct Messages and answers", async () => {
  const { ada, bob } = people;
  await bob.page.getByRole("button", { name: `Message ${ada.username}` }).click();
  await bob.page.locator("#channel-title").filter({ hasText: `@${ada.username}` }).waitFor();
  const bobInput = bob.page.getByLabel("Message", { exact: true });
  await bobInput.fill("psst, just between us");
  await bobInput.press("Enter");
  // Ada is in the server: the DM home shows the unread conversation.
  const home = ada.page.getByRole("button", { name: "Direct Messages (unread messages)" });
  await home.click();
  await ada.page.getByRole("button", { name: new RegExp(`direct message with ${bob.username}, unread`) }).click();
  await ada.page.locator("#message-list .message", { hasText: "psst, just between us" }).waitFor();
  const adaInput = ada.page.getByLabel("Message", { exact: true });
  await adaInput.fill("got it");
  await adaInput.press("Enter");
  await bob.page.locator("#message-list .message", { hasText: "got it" }).waitFor();
  // Read: the home's mark is gone.
  await ada.page.getByRole("button", { name: "Direct Messages", exact: true }).waitFor();
  // Either side may pin in a DM; the other sees the notice.
  const psst = ada.page.locator("#message-list .message", { hasText: "psst, just between us" });
  await psst.hover();
  await psst.getByRole("button", { name: "Pin message" }).click();
  await bob.page.locator("#message-list .system-message", { hasText: `${ada.username} pinned a message` }).waitFor();
  // Reactions work in a DM too: bob reacts to ada's answer, she sees it.
  const gotIt = bob.page.locator("#message-list .message", { hasText: "got it" });
  await gotIt.hover();
  await gotIt.getByRole("button", { name: "Add a reaction" }).click();
  await bob.page.getByRole("menuitem", { name: "React with 👍" }).click();
  await gotIt.getByRole("button", { name: "👍 1", pressed: true }).waitFor();
  await ada.page.locator("#message-list .message", { hasText: "got it" }).getByRole("button", { name: "👍 1", pressed: false }).waitFor();
  // Both go back to the server for the steps that follow.
  for (const p of [ada, bob]) {
    await p.page.locator("#guild-list .guild-button:not(.home-button)").first().click();
    await p.page.locator("#channel-title").filter({ hasText: "# general" }).waitFor();
  }
  // The server's channel never saw any of it.
  assert.equal(await ada.page.locator("#message-list .message", { hasText: "psst" }).count(), 0);
});

test("ada searches her DM with bob: its own search box finds his words there, and Jump shows the message", async () => {
  const { ada, bob } = people;
  await ada.page.getByRole("button", { name: "Direct Messages", exact: true }).click();
  await ada.page.getByRole("button", { name: new RegExp(`direct message with ${bob.username}`) }).click();
  await ada.page.locator("#channel-title").filter({ hasText: `@${bob.username}` }).waitFor();
  const box = ada.page.getByRole("searchbox", { name: "Search messages" });
  const summary = ada.page.locator("#search-summary");
  const results = ada.page.locator("#search-results");
  await box.fill(`between from:${bob.username}`);
  await box.press("Enter");
  await summary.filter({ hasText: "1 result" }).waitFor();
  const hit = results.locator(".search-hit", { hasText: "psst, just between us" });
  assert.match(await hit.locator(".search-channel").textContent(), new RegExp(`@${bob.username}`));
  const id = await hit.getAttribute("data-id");
  await hit.getByRole("button", { name: /^Jump/ }).click();
  await ada.page.locator(`#msg-${id}`).waitFor();
  // Only this conversation is searched: the server's words are not found here.
  await box.fill("release");
  await box.press("Enter");
  await summary.filter({ hasText: "No results" }).waitFor();
  await box.fill("in:general psst");
  await box.press("Enter");
  await results.getByText("in: works in a server").waitFor();
  await ada.page.getByRole("button", { name: "Close search results" }).click();
  await ada.page.locator("#guild-list .guild-button:not(.home-button)").first().click();
  await ada.page.locator("#channel-title").filter({ hasText: "# general" }).waitFor();
});

test("a mention badges the channel, the server and the tab; reading it clears them, on every device", async () => {
  const { ada, bob } = people;
  // Bob looks at his DMs while ada mentions him in #general.
  await bob.page.getByRole("button", { name: "Direct Messages", exact: true }).click();
  const bobId = await myId(bob);
  const adaInput = ada.page.getByLabel("Message", { exact: true });
  await adaInput.fill(`<@${bobId}> can you look at this?`);
  await adaInput.press("Enter");
  const rail = bob.page.locator("#guild-list .guild-button:not(.home-button)").first();
  await rail.locator(".mention-badge", { hasText: "1" }).waitFor();
  await until("the tab title counts the mention", async () => (await bob.page.title()).startsWith("(1) "));
  // Opening the channel reads it: the marks go, here and on the server
  // (the ack of #general, not of the DM bob had open before).
  const generalId = await ada.page.locator("#message-list").getAttribute("data-channel");
  const acked = bob.page.waitForResponse((r) => r.url().includes(`/channels/${generalId}/`) && r.url().endsWith("/ack") && r.ok());
  await rail.click();
  const general = bob.page.getByRole("button", { name: /text channel general/ });
  await bob.page.locator("#message-list .message", { hasText: "can you look at this?" }).waitFor();
  await acked;
  await bob.page.locator("#guild-list .mention-badge").waitFor({ state: "detached" });
  await until("the tab title is plain again", async () => !(await bob.page.title()).startsWith("("));
  // Another device (this browser without its memory) agrees, from the server.
  await bob.page.getByRole("button", { name: "Direct Messages", exact: true }).click();
  await adaInput.fill(`<@${bobId}> and this one`);
  await adaInput.press("Enter");
  await rail.locator(".mention-badge", { hasText: "1" }).waitFor();
  await bob.page.evaluate(() => localStorage.removeItem("hearth.lastRead"));
  await bob.page.reload();
  // Only the newer mention: the first was read (and acked) before.
  await rail.locator(".mention-badge", { hasText: "1" }).waitFor();
  await rail.click();
  await general.waitFor();
  await bob.page.locator("#message-list .message", { hasText: "and this one" }).waitFor();
  await bob.page.locator("#guild-list .mention-badge").waitFor({ state: "detached" });
});

test("bob wants only mentions from the server: away from the tab a mention alerts him, chatter does not, and a muted channel is quiet", async () => {
  const { ada, bob } = people;
  const bobId = await myId(bob);
  // Headless Chromium shows no desktop notifications: record what the page
  // asks for, as a browser whose user allowed them. (Granting the
  // permission through the context would withdraw the camera's and the
  // microphone's, which the calls below need.)
  await bob.page.evaluate(() => {
    window.shownNotifications = [];
    window.Notification = class {
      static permission = "granted";
      constructor(title, options) { window.shownNotifications.push({ title, ...options }); }
      close() {}
    };
  });
  await bob.page.getByRole("button", { name: "Notification settings" }).click();
  await bob.page.getByLabel("Notify me of").selectOption("1");
  await bob.page.getByRole("button", { name: "Save" }).click();
  await bob.page.locator("#dialog").waitFor({ state: "hidden" });
  // Bob's tab goes to the background.
  const setHidden = (hidden) => bob.page.evaluate((hidden) => {
    if (hidden) Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
    else delete document.visibilityState;
    document.dispatchEvent(new Event("visibilitychange"));
  }, hidden);
  await setHidden(true);
  const shown = () => bob.page.evaluate(() => window.shownNotifications);
  const adaInput = ada.page.getByLabel("Message", { exact: true });
  // Bob's list shows a mention by name: wait for the words after it.
  const say = async (text) => {
    await adaInput.fill(text);
    await adaInput.press("Enter");
    await bob.page.locator("#message-list .message", { hasText: text.replace(/^<@\d+> /, "") }).waitFor();
  };
  await say("just some chatter");
  await say(`<@${bobId}> look at the build`);
  await until("the mention's notification", async () => (await shown()).length === 1);
  const [note] = await shown();
  assert.match(note.title, new RegExp(`${ada.username} \\(# ?general, Weekend Workshop\\)`));
  assert.match(note.body, /look at the build/);
  assert.equal(note.tag, await bob.page.locator("#message-list").getAttribute("data-channel"));
  // Muted, the channel is quiet even for a mention; unmuted, it speaks again.
  await setHidden(false);
  await bob.page.getByRole("button", { name: /^Mute # ?general$/ }).click();
  await bob.page.getByRole("button", { name: /^Unmute # ?general/ }).waitFor();
  await bob.page.getByRole("button", { name: /text channel general.*, muted$/ }).waitFor();
  await setHidden(true);
  await say(`<@${bobId}> are you there?`);
  await say("ping after the mute");
  assert.equal((await shown()).length, 1);
  assert.equal((await bob.page.evaluate(() => window.hearthDebug.alerts())).length, 1);
  await setHidden(false);
  await bob.page.getByRole("button", { name: /^Unmute # ?general/ }).click();
  await bob.page.getByRole("button", { name: /^Mute # ?general$/ }).waitFor();

  // His mentions inbox has them, newest first; Jump brings the message.
  await bob.page.getByRole("button", { name: "Recent mentions" }).click();
  await bob.page.locator("#search-summary", { hasText: "Recent mentions" }).waitFor();
  const inbox = bob.page.locator("#search-results .search-hit");
  await inbox.first().filter({ hasText: "are you there?" }).waitFor();
  const built = inbox.filter({ hasText: "look at the build" });
  assert.match(await built.locator(".search-channel").textContent(), /general, Weekend Workshop/);
  const builtId = await built.getAttribute("data-id");
  await built.getByRole("button", { name: /^Jump/ }).click();
  await bob.page.locator(`#msg-${builtId}`).waitFor();

  // Bob stops taking DMs from the server's members: ada's DM to him is refused, and says why.
  await bob.page.getByRole("button", { name: "Notification settings" }).click();
  await bob.page.getByLabel("Direct messages from members of this server").selectOption("0");
  await bob.page.getByRole("button", { name: "Save" }).click();
  await bob.page.locator("#dialog").waitFor({ state: "hidden" });
  await ada.page.getByRole("button", { name: "Direct Messages", exact: true }).click();
  await ada.page.getByRole("button", { name: new RegExp(`direct message with ${bob.username}`) }).click();
  await adaInput.fill("still there?");
  await adaInput.press("Enter");
  await ada.page.getByText("This person doesn't take direct messages from you.").waitFor();
  // Allowed again, for the steps after.
  await bob.page.getByRole("button", { name: "Notification settings" }).click();
  await bob.page.getByLabel("Direct messages from members of this server").selectOption("1");
  await bob.page.getByRole("button", { name: "Save" }).click();
  await bob.page.locator("#dialog").waitFor({ state: "hidden" });
  await ada.page.locator("#guild-list .guild-button:not(.home-button)").first().click();
  await ada.page.getByRole("button", { name: /text channel general/ }).click();
});

test("channels in categories, unread marks, status, and deleting channels", async () => {
  const { ada, bob } = people;
  const create = async (name, type, parent) => {
    await ada.page.getByRole("button", { name: "Create a channel" }).click();
    await ada.page.getByLabel("Channel name", { exact: true }).fill(name);
    await ada.page.getByLabel("Type", { exact: true }).selectOption(type);
    if (parent) await ada.page.getByLabel("Category", { exact: true }).selectOption({ label: parent });
    await ada.page.getByRole("button", { name: "Create", exact: true }).click();
    await ada.page.locator("#dialog").waitFor({ state: "hidden" });
  };
  await create("Projects", "4");
  await create("random", "0", "Projects");
  // Ada is taken to the new channel; bob sees it appear under its category.
  await ada.page.locator("#channel-title").filter({ hasText: "# random" }).waitFor();
  const randomForBob = bob.page.getByRole("region", { name: "Projects" }).locator(".channel", { hasText: "random" });
  await randomForBob.waitFor();

  // A message in a channel bob is not looking at marks it unread.
  await ada.page.getByLabel("Message", { exact: true }).fill("news in random");
  await ada.page.getByLabel("Message", { exact: true }).press("Enter");
  await bob.page.locator(".channel.unread", { hasText: "random" }).waitFor();
  assert.equal(await bob.page.locator(".channel.unread", { hasText: "general" }).count(), 0);
  // Opening it shows where the new messages start, and clears the mark.
  await randomForBob.getByRole("button", { name: /text channel random/ }).click();
  await bob.page.locator("#unread-divider + .message", { hasText: "news in random" }).waitFor();
  await bob.page.locator(".channel.unread", { hasText: "random" }).waitFor({ state: "detached" });
  // What bob writes from elsewhere (another device) reads the channel here too.
  await bob.page.getByRole("button", { name: /text channel general/ }).click();
  await ada.page.getByLabel("Message", { exact: true }).fill("more news in random");
  await ada.page.getByLabel("Message", { exact: true }).press("Enter");
  await bob.page.locator(".channel.unread", { hasText: "random" }).waitFor();
  const bobToken = await bob.page.evaluate(() => localStorage.getItem("hearth.token"));
  const randomId = await ada.page.locator("#message-list").getAttribute("data-channel");
  const elsewhere = await fetch(`${server.url}/api/v10/channels/${randomId}/messages`, {
    method: "POST", headers: { Authorization: bobToken, "Content-Type": "application/json" }, body: JSON.stringify({ content: "seen it, from my phone" }),
  });
  assert.equal(elsewhere.status, 200);
  await bob.page.locator(".channel.unread", { hasText: "random" }).waitFor({ state: "detached" });
  await randomForBob.getByRole("button", { name: /text channel random/ }).click();
  await bob.page.locator("#message-list .message", { hasText: "seen it, from my phone" }).waitFor();

  // Status: what ada picks is what bob sees, invisible included.
  const adaForBob = (status) => bob.page.locator(`#member-list .member[data-status="${status}"]`, { hasText: ada.username });
  await ada.page.getByLabel("Your status").selectOption("dnd");
  await adaForBob("dnd").waitFor();
  await ada.page.getByLabel("Your status").selectOption("invisible");
  await adaForBob("offline").waitFor();
  await ada.page.getByLabel("Your status").selectOption("online");
  await adaForBob("online").waitFor();

  // Deleting the channel bob is in sends him back to #general.
  ada.page.once("dialog", (d) => d.accept());
  await ada.page.getByRole("button", { name: "Delete channel random" }).click();
  await randomForBob.waitFor({ state: "detached" });
  await bob.page.locator("#channel-title").filter({ hasText: "# general" }).waitFor();
  ada.page.once("dialog", (d) => d.accept());
  await ada.page.getByRole("button", { name: "Delete category Projects" }).click();
  await bob.page.getByRole("region", { name: "Projects" }).waitFor({ state: "detached" });
  await ada.page.locator(".channel", { hasText: "general" }).getByRole("button", { name: /text channel general/ }).click();

  // A channel only a role sees: when ada takes the role from bob, it leaves
  // his list at once, and the view he had open there goes back to #general.
  const adaToken = await ada.page.evaluate(() => localStorage.getItem("hearth.token"));
  const guildId = await ada.page.evaluate(() => localStorage.getItem("hearth.guild"));
  const bobId = await myId(bob);
  const rest = async (method, path, body) => {
    const res = await fetch(`${server.url}/api/v10${path}`, {
      method, headers: { Authorization: adaToken, "Content-Type": "application/json" }, body: body && JSON.stringify(body),
    });
    assert.ok(res.ok, `${method} ${path}: ${res.status}`);
    return res.status === 204 ? null : res.json();
  };
  const crew = await rest("POST", `/guilds/${guildId}/roles`, { name: "crew" });
  await rest("PUT", `/guilds/${guildId}/members/${bobId}/roles/${crew.id}`);
  const room = await rest("POST", `/guilds/${guildId}/channels`, { name: "crew-room", type: 0, permission_overwrites: [
    { id: guildId, type: 0, allow: "0", deny: "1024" }, { id: crew.id, type: 0, allow: "1024", deny: "0" }] });
  await bob.page.getByRole("button", { name: /text channel crew-room/ }).click();
  await bob.page.locator("#channel-title").filter({ hasText: "# crew-room" }).waitFor();
  await rest("DELETE", `/guilds/${guildId}/members/${bobId}/roles/${crew.id}`);
  await bob.page.locator(".channel", { hasText: "crew-room" }).waitFor({ state: "detached" });
  await bob.page.locator("#channel-title").filter({ hasText: "# general" }).waitFor();
  await bob.page.getByRole("status").filter({ hasText: "You can no longer see #crew-room." }).waitFor();
  await rest("DELETE", `/channels/${room.id}`);
});

test("a refused action says why, and keeps what was typed", async () => {
  const { ada, bob } = people;
  // Ada takes sending away from everyone (through the API, as a moderator tool would).
  const token = await ada.page.evaluate(() => localStorage.getItem("hearth.token"));
  const guildId = await ada.page.evaluate(() => localStorage.getItem("hearth.guild"));
  const roles = await (await fetch(`${server.url}/api/v10/guilds/${guildId}/roles`, { headers: { Authorization: token } })).json();
  const everyone = roles.find((r) => r.id === guildId);
  const patch = (permissions) => fetch(`${server.url}/api/v10/guilds/${guildId}/roles/${guildId}`, {
    method: "PATCH", headers: { Authorization: token, "Content-Type": "application/json" }, body: JSON.stringify({ permissions }),
  });
  assert.equal((await patch(String(BigInt(everyone.permissions) & ~(1n << 11n)))).status, 200);
  const input = bob.page.getByLabel("Message", { exact: true });
  await input.fill("can I still talk?");
  await input.press("Enter");
  await bob.page.getByRole("alert").filter({ hasText: "You don't have permission to do that." }).waitFor();
  assert.equal(await input.inputValue(), "can I still talk?");
  assert.equal((await patch(everyone.permissions)).status, 200);
  await input.press("Enter");
  await ada.page.locator("#message-list .message", { hasText: "can I still talk?" }).waitFor();
  // Sent after all: the error about it goes by itself.
  await bob.page.getByRole("alert").filter({ hasText: "You don't have permission to do that." }).waitFor({ state: "detached" });
  const dismiss = bob.page.getByRole("button", { name: "Dismiss" });
  while (await dismiss.count()) await dismiss.first().click();
});

test("ada blocks bob from his profile: his message collapses for her, their DM takes no messages either way, and she unblocks him from her settings", async () => {
  const { ada, bob } = people;
  const bobId = await myId(bob);
  const adaToken = await ada.page.evaluate(() => localStorage.getItem("hearth.token"));
  const blocks = async () => (await fetch(`${server.url}/api/v10/users/@me/relationships`, { headers: { Authorization: adaToken } })).json();
  // Bob's message in #general, as ada sees it.
  const said = ada.page.locator("#message-list .message", { hasText: "can I still talk?" });
  await said.waitFor();
  const saidId = await said.getAttribute("data-id");

  // His profile, from the member list: Block, confirmed.
  const openProfile = () => ada.page.locator(`#member-list .member[data-user="${bobId}"] .member-open`).click();
  await openProfile();
  const profile = ada.page.getByRole("dialog", { name: bob.username });
  await profile.getByRole("button", { name: "Block", exact: true }).click();
  await ada.page.getByRole("heading", { name: `Block ${bob.username}?` }).waitFor();
  await ada.page.locator("#dialog").getByRole("button", { name: "Block", exact: true }).click();
  await ada.page.locator("#dialog").waitFor({ state: "hidden" });
  assert.deepEqual((await blocks()).map((r) => [r.id, r.type]), [[bobId, 2]]);

  // His message collapses behind a line; the keyboard shows it, and hides it again.
  await said.waitFor({ state: "hidden" });
  const line = ada.page.locator(`#message-list .blocked-toggle[aria-controls~="msg-${saidId}"]`);
  await line.filter({ hasText: /^\d+ blocked messages? — Show$/ }).waitFor();
  assert.equal(await line.getAttribute("aria-expanded"), "false");
  await line.focus();
  await ada.page.keyboard.press("Enter");
  await said.waitFor({ state: "visible" });
  await line.filter({ hasText: /blocked messages? — Hide$/ }).waitFor();
  assert.equal(await line.getAttribute("aria-expanded"), "true");
  assert.equal(await ada.page.evaluate(() => document.activeElement.classList.contains("blocked-toggle")), true);
  await ada.page.screenshot({ path: join(artifacts, "blocked-message.png") });
  await ada.page.keyboard.press("Enter");
  await said.waitFor({ state: "hidden" });
  // His earlier reply is collapsed too; her own message stays as it was.
  await ada.page.locator("#message-list .message.blocked", { hasText: "hi ada" }).waitFor({ state: "hidden" });
  await ada.page.locator("#message-list .message:not(.blocked) .content", { hasText: "hello from ada (edited text)" }).waitFor({ state: "visible" });

  // Their DM, from his profile's Message: a notice with Unblock in place of the composer, and no call button.
  await openProfile();
  await profile.getByText(`You blocked ${bob.username}.`).waitFor();
  await profile.getByRole("button", { name: "Message", exact: true }).click();
  await ada.page.locator("#channel-title").filter({ hasText: `@${bob.username}` }).waitFor();
  const notice = ada.page.locator("#dm-blocked");
  await notice.filter({ hasText: `You blocked ${bob.username}. Unblock to send messages.` }).waitFor();
  await notice.getByRole("button", { name: "Unblock", exact: true }).waitFor();
  const adaInput = ada.page.getByLabel("Message", { exact: true });
  assert.equal(await adaInput.isVisible(), false);
  assert.equal(await ada.page.locator("#dm-call").isVisible(), false);

  // Bob writes to her there: the server refuses (50007); he is told, and keeps his words.
  await bob.page.getByRole("button", { name: "Direct Messages", exact: true }).click();
  await bob.page.getByRole("button", { name: new RegExp(`direct message with ${ada.username}`) }).click();
  await bob.page.locator("#channel-title").filter({ hasText: `@${ada.username}` }).waitFor();
  const bobInput = bob.page.getByLabel("Message", { exact: true });
  await bobInput.fill("are you ignoring me?");
  await bobInput.press("Enter");
  await bob.page.getByRole("alert").filter({ hasText: "Your message could not be delivered." }).waitFor();
  assert.equal(await bobInput.inputValue(), "are you ignoring me?");
  const dismiss = bob.page.getByRole("button", { name: "Dismiss" });
  while (await dismiss.count()) await dismiss.first().click();

  // Ada unblocks him from her settings' list; the list is empty, the composer is back.
  await ada.page.getByRole("button", { name: "User settings" }).click();
  await ada.page.locator("#settings").getByRole("button", { name: "Blocked users", exact: true }).click();
  const list = ada.page.getByRole("list", { name: "Blocked users" });
  await list.getByRole("button", { name: `Unblock ${bob.username}` }).click();
  await list.getByText("You haven't blocked anyone.").waitFor();
  await ada.page.getByRole("button", { name: "Close settings", exact: true }).click();
  await ada.page.locator("#settings").waitFor({ state: "hidden" });
  await adaInput.waitFor({ state: "visible" });
  await notice.waitFor({ state: "hidden" });
  assert.deepEqual(await blocks(), []);
  // His words go through now.
  await bobInput.press("Enter");
  await ada.page.locator("#message-list .message", { hasText: "are you ignoring me?" }).waitFor();

  // Both go back to #general, where his message shows as any other.
  for (const p of [ada, bob]) {
    await p.page.locator("#guild-list .guild-button:not(.home-button)").first().click();
    await p.page.locator("#channel-title").filter({ hasText: "# general" }).waitFor();
  }
  await said.waitFor({ state: "visible" });
  assert.equal(await ada.page.locator("#message-list .blocked-line").count(), 0);
});

test("files: an image with alt text and a text file go out with progress; the other sees them live; the image opens large; paste and drop attach too", async () => {
  const { ada, bob } = people;
  const { page } = ada;
  const composer = page.getByLabel("Message", { exact: true });
  const input = page.locator("#file-input");
  const tray = page.getByRole("list", { name: "Files to send" });
  const chip = (name) => tray.getByRole("listitem").filter({ hasText: name });
  // A real 640x480 PNG, drawn in the page: the server sniffs and measures it.
  const png = Buffer.from(await page.evaluate(async () => {
    const canvas = new OffscreenCanvas(640, 480);
    const g = canvas.getContext("2d");
    g.fillStyle = "#c0392b";
    g.fillRect(0, 0, 640, 480);
    g.fillStyle = "#f1c40f";
    g.fillRect(160, 120, 320, 240);
    const blob = await canvas.convertToBlob({ type: "image/png" });
    return [...new Uint8Array(await blob.arrayBuffer())];
  }));

  // Picked with the paperclip's file input, previewed, given alt text.
  const alt = "A red frame around a yellow square";
  await input.setInputFiles({ name: "squares.png", mimeType: "image/png", buffer: png });
  await chip("squares.png").waitFor();
  // The preview is an object URL of the file (the CSP allows blob: images).
  await until("the preview drawn", () => chip("squares.png").locator("img").evaluate((img) => img.src.startsWith("blob:") && img.complete && img.naturalWidth === 640));
  await chip("squares.png").getByRole("button", { name: "Alt text for squares.png" }).click();
  await page.getByLabel("Alt text", { exact: true }).fill(alt);
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await chip("squares.png").filter({ hasText: `Alt: ${alt}` }).waitFor();
  await composer.fill("the squares, as promised");
  await composer.press("Enter");
  await tray.waitFor({ state: "hidden" });
  for (const p of [ada, bob]) {
    const msg = p.page.locator("#message-list .message", { hasText: "the squares, as promised" });
    const img = msg.getByRole("img", { name: alt });
    await img.waitFor();
    // Sized before it loads (no jump), to the box of at most 400x300, and
    // fetched as a thumbnail of that size from the page's own origin.
    assert.equal(await img.getAttribute("width"), "400");
    assert.equal(await img.getAttribute("height"), "300");
    assert.match(await img.getAttribute("src"), /^\/media\/attachments\/\d+\/squares\.png\?ex=.*&width=400&height=300$/);
    // The server rounds a thumbnail's box up to powers of two (512 x 512
    // here), keeping the proportions; the page shows it at 400 x 300.
    await until(`${p.name}'s thumbnail loaded`, () => img.evaluate((i) => i.complete && i.naturalWidth >= 400 && i.naturalWidth * 3 === i.naturalHeight * 4));
  }

  // Bob opens it large: a dialog with the alt text and the original; Escape
  // closes it and gives the focus back to the image.
  const bobsImage = bob.page.locator("#message-list .message", { hasText: "the squares, as promised" }).getByRole("link", { name: alt });
  await bobsImage.click();
  const lightbox = bob.page.getByRole("dialog", { name: alt });
  await lightbox.waitFor();
  assert.equal(await bob.page.evaluate(() => document.activeElement.id), "lightbox-close");
  await bob.page.screenshot({ path: join(artifacts, "lightbox-bob.png") });
  assert.match(await lightbox.getByRole("link", { name: "Open original" }).getAttribute("href"), /^\/attachments\/\d+\/squares\.png\?ex=/);
  await until("the large image loaded", () => lightbox.getByRole("img", { name: alt }).evaluate((i) => i.complete && i.naturalWidth === 640));
  await bob.page.keyboard.press("Escape");
  await lightbox.waitFor({ state: "hidden" });
  assert.equal(await bob.page.evaluate(() => document.activeElement.matches("#message-list .attachment-image")), true);
  // A click closes it too.
  await bobsImage.click();
  await lightbox.waitFor();
  await lightbox.getByRole("img", { name: alt }).click();
  await lightbox.waitFor({ state: "hidden" });

  // A text file, over a slow uplink: the progress shows, Cancel gives the
  // file back; sent again, it arrives as a download card.
  const text = "a line of the notes\n".repeat(15000);
  await input.setInputFiles({ name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from(text) });
  await chip("notes.txt").waitFor();
  const cdp = await ada.context.newCDPSession(page);
  await cdp.send("Network.enable");
  const uplink = (bytesPerSecond) => cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: bytesPerSecond });
  await uplink(40 * 1024);
  try {
    await composer.press("Enter");
    const bar = page.getByRole("progressbar", { name: "Uploading notes.txt" });
    await bar.waitFor();
    await until("the upload part way", async () => {
      const n = Number(await bar.getAttribute("aria-valuenow"));
      return n > 0 && n < 100;
    });
    assert.match(await page.locator("#upload-list").textContent(), /Uploading notes\.txt to # ?general/);
    assert.match(await page.locator("#upload-list .progress-percent").textContent(), /^([1-9]|[1-9]\d)%$/);
    await page.getByRole("button", { name: "Cancel uploading notes.txt" }).click();
    await bar.waitFor({ state: "detached" });
    await chip("notes.txt").waitFor();
  } finally {
    await uplink(-1);
    await cdp.detach();
  }
  await composer.press("Enter");
  const card = bob.page.locator("#message-list .attachment-file", { hasText: "notes.txt" });
  await card.waitFor();
  await card.getByText("293 KB").waitFor();
  const href = await card.getByRole("link", { name: "Download notes.txt" }).getAttribute("href");
  assert.match(href, /^\/attachments\/\d+\/notes\.txt\?ex=/);
  const download = await bob.page.evaluate(async (href) => {
    const res = await fetch(href);
    return { disposition: res.headers.get("content-disposition"), length: (await res.text()).length };
  }, href);
  assert.deepEqual(download, { disposition: 'attachment; filename="notes.txt"', length: text.length });
  // Nothing was sent while cancelled: one message with the file.
  assert.equal(await bob.page.locator("#message-list .attachment-file", { hasText: "notes.txt" }).count(), 1);

  // Too many, or too large: refused before anything is uploaded.
  const many = Array.from({ length: 11 }, (_, i) => ({ name: `part${i + 1}.txt`, mimeType: "text/plain", buffer: Buffer.from(`part ${i + 1}`) }));
  await input.setInputFiles(many);
  await page.getByRole("alert").filter({ hasText: "You can attach up to 10 files to a message." }).waitFor();
  assert.equal(await tray.getByRole("listitem").count(), 10);
  for (let i = 1; i <= 10; i++) await tray.getByRole("button", { name: `Remove part${i}.txt` }).click();
  await tray.waitFor({ state: "hidden" });
  const dir = mkdtempSync(join(tmpdir(), "hearth-upload-"));
  try {
    const big = join(dir, "huge.bin");
    writeFileSync(big, "");
    truncateSync(big, 26 * 1024 * 1024);
    await input.setInputFiles(big);
    await page.getByRole("alert").filter({ hasText: "huge.bin is too large: files can be up to 25 MB." }).waitFor();
    assert.equal(await tray.isHidden(), true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  // A pasted image and a dropped file: sent together, without text.
  await composer.evaluate((el, bytes) => {
    const data = new DataTransfer();
    data.items.add(new File([new Uint8Array(bytes)], "pasted.png", { type: "image/png" }));
    el.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true }));
  }, [...png]);
  await chip("pasted.png").waitFor();
  const drag = (type) => page.locator("#messages").evaluate((el, type) => {
    if (!window.dragged) {
      window.dragged = new DataTransfer();
      window.dragged.items.add(new File(["dropped on the chat"], "dropped.txt", { type: "text/plain" }));
    }
    el.dispatchEvent(new DragEvent(type, { dataTransfer: window.dragged, bubbles: true, cancelable: true }));
  }, type);
  await drag("dragenter");
  await page.locator("#drop-hint").filter({ hasText: /Drop files to send them to # ?general/ }).waitFor();
  await drag("dragover");
  await drag("drop");
  await page.locator("#drop-hint").waitFor({ state: "hidden" });
  await chip("dropped.txt").waitFor();
  await composer.press("Enter");
  const both = bob.page.locator("#message-list .message").filter({ has: bob.page.getByRole("img", { name: "pasted.png" }) });
  await both.locator(".attachment-file", { hasText: "dropped.txt" }).waitFor();
  // The alt text left empty, the name stands in for it.
  assert.match(await both.getByRole("img", { name: "pasted.png" }).getAttribute("src"), /width=400&height=300$/);
  const adasBoth = page.locator("#message-list .message").filter({ has: page.getByRole("img", { name: "pasted.png" }) });
  await until("ada's thumbnail loaded", () => adasBoth.getByRole("img", { name: "pasted.png" }).evaluate((i) => i.complete && i.naturalWidth >= 400 && i.naturalWidth * 3 === i.naturalHeight * 4));
  await page.screenshot({ path: join(artifacts, "files.png") });
  // Editing, ada takes the text file off the message; the image stays.
  await adasBoth.hover();
  await adasBoth.getByRole("button", { name: "Edit message" }).click();
  await adasBoth.getByRole("button", { name: "Remove dropped.txt" }).click();
  await page.getByRole("textbox", { name: "Edit message" }).press("Enter");
  await both.locator(".attachment-file", { hasText: "dropped.txt" }).waitFor({ state: "detached" });
  await both.getByRole("img", { name: "pasted.png" }).waitFor();

  // Without ATTACH_FILES the server refuses: the notice says why, and the
  // file and the text come back to the composer.
  const token = await page.evaluate(() => localStorage.getItem("hearth.token"));
  const guildId = await page.evaluate(() => localStorage.getItem("hearth.guild"));
  const roles = await (await fetch(`${server.url}/api/v10/guilds/${guildId}/roles`, { headers: { Authorization: token } })).json();
  const everyone = roles.find((r) => r.id === guildId);
  const patch = (permissions) => fetch(`${server.url}/api/v10/guilds/${guildId}/roles/${guildId}`, {
    method: "PATCH", headers: { Authorization: token, "Content-Type": "application/json" }, body: JSON.stringify({ permissions }),
  });
  assert.equal((await patch(String(BigInt(everyone.permissions) & ~(1n << 15n)))).status, 200);
  try {
    const bobInput = bob.page.getByLabel("Message", { exact: true });
    await bob.page.locator("#file-input").setInputFiles({ name: "reply.txt", mimeType: "text/plain", buffer: Buffer.from("hi") });
    await bobInput.fill("here is my file");
    await bobInput.press("Enter");
    await bob.page.getByRole("alert").filter({ hasText: "You don't have permission to do that." }).waitFor();
    assert.equal(await bobInput.inputValue(), "here is my file");
    await bob.page.getByRole("list", { name: "Files to send" }).getByRole("listitem").filter({ hasText: "reply.txt" }).waitFor();
    await bob.page.getByRole("button", { name: "Remove reply.txt" }).click();
    await bobInput.fill("");
  } finally {
    assert.equal((await patch(everyone.permissions)).status, 200);
  }
  // Each click takes its notice away: always the first that is left.
  for (const p of [ada, bob]) {
    const dismiss = p.page.getByRole("button", { name: "Dismiss" });
    while (await dismiss.count()) await dismiss.first().click();
  }
});

test("scroll-back loads older history page by page", async () => {
  const { ada, bob } = people;
  // 60 messages from webhooks (a CI bot, say), more than one page.
  const token = await ada.page.evaluate(() => localStorage.getItem("hearth.token"));
  const channelId = await ada.page.locator("#message-list").getAttribute("data-channel");
  const hooks = [];
  for (let i = 0; i < 12; i++) {
    const res = await fetch(`${server.url}/api/v10/channels/${channelId}/webhooks`, {
      method: "POST", headers: { Authorization: token, "Content-Type": "application/json" },
      body: JSON.stringify({ name: `hook${i}` }),
    });
    assert.equal(res.status, 200);
    hooks.push(await res.json());
  }
  const post = async (hook, body) => {
    for (;;) {
      const res = await fetch(`${server.url}/api/v10/webhooks/${hook.id}/${hook.token}?wait=true`, {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
      });
      if (res.status !== 429) { assert.equal(res.status, 200); return; }
      await sleep(Math.ceil((await res.json()).retry_after * 1000));
    }
  };
  // In order, so "backlog 1" is the oldest of them.
  for (let i = 1; i <= 60; i++) await post(hooks[i % hooks.length], { content: `backlog ${i}` });
  await bob.page.locator("#message-list .message", { hasText: "backlog 60" }).waitFor();
  // Embeds are rendered (their image only as a link: nothing is fetched).
  const embed = { title: "Build 412", description: "All green", color: 0x23a55a, url: "https://ci.example/412",
    fields: [{ name: "Tests", value: "1,204 passed", inline: true }], image: { url: "https://ci.example/badge.png" }, footer: { text: "CI" } };
  await post(hooks[0], { embeds: [embed], username: "CI" });
  const shown = bob.page.locator("#message-list .embed", { hasText: "Build 412" });
  await shown.locator(".embed-field", { hasText: "1,204 passed" }).waitFor();
  assert.equal(await shown.locator("img").count(), 0);
  await shown.getByRole("link", { name: "https://ci.example/badge.png" }).waitFor();
  await bob.page.screenshot({ path: join(artifacts, "chat-bob.png") });
  // A fresh load shows only the newest page; scrolling up brings the rest.
  await bob.page.reload();
  await bob.page.locator("#message-list .message", { hasText: "Build 412" }).waitFor();
  const first = bob.page.locator("#message-list .message .content", { hasText: "hello from ada" });
  assert.equal(await first.count(), 0);
  await until("the first message after scrolling back", async () => {
    await bob.page.locator("#messages").evaluate((el) => { el.scrollTop = 0; });
    return (await first.count()) === 1;
  });
  await bob.page.locator("#message-list").getByText("backlog 1", { exact: true }).waitFor();
});

test("bob searches the server: filters narrow it, and a hit jumps to the message far back in its history", async () => {
  const { ada, bob } = people;
  // Only the newest page is loaded: the first message is far back.
  await bob.page.reload();
  await bob.page.locator("#message-list .message", { hasText: "Build 412" }).waitFor();
  const box = bob.page.getByRole("searchbox", { name: "Search messages" });
  const summary = bob.page.locator("#search-summary");
  const results = bob.page.locator("#search-results");
  // Her first message, as she edited it: the edit's words are found.
  await box.fill(`EDITED from:${ada.username}`);
  await box.press("Enter");
  await summary.filter({ hasText: "1 result" }).waitFor();
  const hit = results.locator(".search-hit", { hasText: "hello from ada (edited text)" });
  const id = await hit.getAttribute("data-id");
  await hit.getByRole("button", { name: /^Jump/ }).click();
  const target = bob.page.locator(`#msg-${id}`);
  await target.waitFor();
  await until("the message is in view", () => target.evaluate((el) => {
    const box = el.getBoundingClientRect();
    const view = document.getElementById("messages").getBoundingClientRect();
    return box.top >= view.top && box.bottom <= view.bottom;
  }));
  // Filters: a word in many messages, paged; a name nobody has; no links.
  await box.fill("backlog");
  await box.press("Enter");
  await summary.filter({ hasText: "60 results" }).waitFor();
  assert.equal(await results.locator(".search-hit").count(), 25);
  await results.getByRole("button", { name: "More results" }).click();
  await until("the second page", async () => (await results.locator(".search-hit").count()) === 50);
  await box.fill("from:nobody-at-all backlog");
  await box.press("Enter");
  await results.getByText("No member of this server is called nobody-at-all.").waitFor();
  await box.fill("backlog has:link");
  await box.press("Enter");
  await summary.filter({ hasText: "No results" }).waitFor();
  await bob.page.screenshot({ path: join(artifacts, "search-bob.png") });
  await bob.page.getByRole("button", { name: "Close search results" }).click();
  assert.equal(await bob.page.locator("#search-panel").isHidden(), true);
});

test("a bot's slash command: ada types /, picks it, fills its option, sees the reply, reacts, clicks its button and fills its modal", async () => {
  const { ada, bob } = people;
  const modules = process.env.HEARTH_TEST_DISCORD_JS;
  assert.ok(modules, "HEARTH_TEST_DISCORD_JS must name a node_modules with discord.js (scripts/test.sh installs it)");
  const token = await ada.page.evaluate(() => localStorage.getItem("hearth.token"));
  const guildId = await ada.page.evaluate(() => localStorage.getItem("hearth.guild"));
  const rest = async (method, path, body) => {
    const res = await fetch(`${server.url}/api/v10${path}`, {
      method, headers: { Authorization: token, "Content-Type": "application/json" }, body: body && JSON.stringify(body),
    });
    assert.ok(res.ok, `${method} ${path}: ${res.status} ${await res.clone().text()}`);
    return res.json();
  };
  // Ada makes a bot and adds it to her server; a real discord.js bot runs it.
  const app = await rest("POST", "/applications", { name: "Helper" });
  const { token: botToken } = await rest("POST", `/applications/${app.id}/bot`);
  const perms = String(0x400 | 0x800 | 0x40 | 0x10000);
  await rest("POST", `/oauth2/authorize?client_id=${app.id}&scope=bot&permissions=${perms}`, { guild_id: guildId, permissions: perms, authorize: true });
  const script = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "tests", "e2e", "bots", "discord_js_interactions_bot.js");
  const out = [];
  const bot = spawn("node", [script], {
    env: { ...process.env, NODE_PATH: modules, HEARTH_URL: server.url, HEARTH_BOT_TOKEN: botToken, HEARTH_GUILD_ID: guildId },
    stdio: ["ignore", "pipe", "pipe"],
  });
  bot.stdout.on("data", (b) => out.push(b.toString()));
  bot.stderr.on("data", (b) => out.push(b.toString()));
  const exited = new Promise((res) => bot.on("exit", (code) => res(code)));
  try {
    await until("the bot registers its commands", async () => out.join("").includes("COMMANDS"), 30000);
    const { page } = ada;
    const composer = page.getByLabel("Message", { exact: true });
    const run = async (name, fill = async () => {}) => {
      await composer.fill("");
      await composer.pressSequentially(`/${name.slice(0, 2)}`);
      await page.getByRole("option", { name: new RegExp(`^/${name}\\b`) }).click();
      await fill();
      await composer.press("Enter");
    };
    // "/" offers the bot's commands with their descriptions.
    await composer.fill("");
    await composer.pressSequentially("/");
    await page.getByRole("listbox", { name: "Commands" }).getByRole("option", { name: /\/echo Says it back/ }).waitFor();
    await run("echo", async () => {
      await page.locator("#option-text").fill("hi from the web");
      await page.locator("#option-who").selectOption({ label: bob.username });
    });
    const reply = page.locator("#message-list .message", { hasText: `echo: hi from the web to ${bob.username}` });
    await reply.waitFor();
    await reply.locator(".interaction-ref", { hasText: "used /echo" }).waitFor();
    // The bot reacted to its own reply; ada joins in, and the bot notices.
    await reply.getByRole("button", { name: "👍 1" }).click();
    await reply.getByRole("button", { name: "👍 2", pressed: true }).waitFor();
    const adaId = await myId(ada);
    await page.locator("#message-list .message", { hasText: `saw 👍 from ${adaId}` }).waitFor();
    // Its user menu: ada picks bob, and the bot says whom.
    await reply.getByRole("combobox", { name: "Pick someone" }).selectOption({ label: bob.username });
    const picked = page.locator("#message-list .message", { hasText: `picked ${bob.username}` });
    await picked.waitFor();
    // Its button: the bot updates the message in place.
    await picked.getByRole("button", { name: "Again" }).click();
    await page.locator("#message-list .message .content", { hasText: "clicked again" }).waitFor();
    // Deferred, then a follow-up.
    await run("slow");
    await page.locator("#message-list .message", { hasText: "and one more thing" }).waitFor();
    await page.locator("#message-list .message", { hasText: "thought about it" }).waitFor();
    // Ephemeral: ada alone sees it.
    await run("secret");
    await page.locator("#message-list .message", { hasText: "between us" }).locator(".ephemeral-note").waitFor();
    // A modal: the form opens, ada fills it, the bot thanks her.
    await run("form");
    await page.getByRole("heading", { name: "Feedback" }).waitFor();
    await page.getByLabel(/your thoughts/i).fill("great");
    await page.getByRole("button", { name: "Submit" }).click();
    await page.locator("#message-list .message", { hasText: "thanks: great" }).waitFor();
    await bob.page.locator("#message-list .message", { hasText: "thanks: great" }).waitFor();
    assert.equal(await bob.page.locator("#message-list .message", { hasText: "between us" }).count(), 0);
    await page.screenshot({ path: join(artifacts, "bot-ada.png") });
    const code = await Promise.race([exited, sleep(20000).then(() => "still running")]);
    assert.equal(code, 0, `the bot:\n${out.join("")}`);
  } catch (err) {
    writeFileSync(join(artifacts, "failed-bot.log"), out.join(""));
    throw err;
  } finally {
    if (bot.exitCode === null) bot.kill("SIGKILL");
  }
});

test("both join the voice channel: audio and video flow both ways and each sees the other speak", async () => {
  const { ada, bob } = people;
  const ids = { ada: await myId(ada), bob: await myId(bob) };
  for (const p of [ada, bob]) {
    await p.page.getByRole("button", { name: "voice channel General" }).click();
    await p.page.locator("#voice-status").filter({ hasText: "Voice connected" }).waitFor();
  }
  for (const [me, other] of [[ada, bob], [bob, ada]]) {
    // The sidebar lists both in the channel; a tile per participant.
    await me.page.locator(`.voice-user[data-user="${ids[other.name]}"]`).waitFor();
    await me.page.locator(`#tiles .tile[data-user="${ids[other.name]}"]`).waitFor();
    await me.page.locator(`#tiles .tile[data-user="${ids[me.name]}"]`).waitFor();
  }
  for (const p of [ada, bob]) await p.page.getByRole("button", { name: "Camera" }).click();

  for (const [me, other] of [[ada, bob], [bob, ada]]) {
    const from = ids[other.name];
    const first = await until(`${me.name} receiving audio and video from ${other.name}`, async () => {
      const s = (await stats(me))[from];
      return s && s.audio && s.audio.packetsReceived > 0 && s.video && s.video.framesDecoded > 0 && s;
    }, 30000);
    await until(`${me.name}'s inbound audio from ${other.name} growing`, async () => {
      const s = (await stats(me))[from];
      return s.audio.packetsReceived > first.audio.packetsReceived && s.video.framesDecoded > first.video.framesDecoded;
    });
    // The other's tile shows their camera.
    await me.page.locator(`#tiles .tile[data-user="${from}"][data-video="true"]`).waitFor();
    // The fake microphone beeps: the server's Speaking events ring the tile.
    await me.page.locator(`#tiles .tile[data-user="${from}"][data-spoke="true"]`).waitFor({ timeout: 30000 });
  }
  await ada.page.screenshot({ path: join(artifacts, "voice.png") });
});

test("the camera goes out in three layers; each viewer gets the one the size of the tile asks for", async () => {
  const { ada, bob } = people;
  const adaId = await myId(ada);
  const RIDS = ["q", "h", "f"];
  const layers = () => ada.page.evaluate(() => window.hearthDebug.outboundStats());
  // Ada's browser sends all three layers of her camera, smallest first.
  const first = await until("ada's camera going out in three layers", async () => {
    const o = await layers();
    return RIDS.every((rid) => o[rid] && o[rid].bytesSent > 0 && o[rid].frameWidth > 0) && o;
  }, 30000);
  await until("all three layers of ada's camera growing", async () => {
    const o = await layers();
    return RIDS.every((rid) => o[rid].bytesSent > first[rid].bytesSent);
  });
  assert.ok(first.q.frameWidth < first.h.frameWidth && first.h.frameWidth < first.f.frameWidth, `layer sizes: ${JSON.stringify(first)}`);
  const offer = await bob.page.evaluate(() => window.hearthDebug.lastServerOffer());
  // Her camera's m-line (a second video one, op 40's "screen", waits for a screen share).
  const track = offer.tracks.find((t) => t.user_id === adaId && t.kind === "video" && t.source === "camera");
  assert.equal(track.layers, 3, `ada's video in bob's op 40: ${JSON.stringify(track)}`);

  // What reaches bob has the size of the layer asked for, as ada sends it now.
  const arrivesAs = (rid) => until(`bob receiving ada's camera at the size of layer ${rid}`, async () => {
    const [received, sent] = [((await stats(bob))[adaId] || {}).video, await layers()];
    return received && sent[rid] && received.frameWidth === sent[rid].frameWidth && received.frameWidth;
  }, 30000);
  const asked = (quality) => until(`bob asking for ${quality} of ada's camera (op 42)`, () => {
    const last = bob.qualitiesAsked.filter((d) => d.mid === track.mid).at(-1);
    // The server starts every track at "high".
    return last ? last.quality === quality : quality === "high";
  });
  // A wide window: ada's tile is large, and the full layer comes.
  await bob.page.setViewportSize({ width: 1920, height: 1080 });
  await asked("high");
  await arrivesAs("f");
  // A phone: the lowest.
  await bob.page.setViewportSize({ width: 390, height: 844 });
  await asked("low");
  await arrivesAs("q");
  await bob.page.screenshot({ path: join(artifacts, "phone-simulcast.png") });
  // Back on the laptop's window, two tiles side by side: the middle one.
  await bob.page.setViewportSize({ width: 1280, height: 800 });
  await asked("medium");
  await arrivesAs("h");
});

test("after the network drops, the gateway resumes and the call carries on", async () => {
  const { ada, bob } = people;
  const ids = { ada: await myId(ada), bob: await myId(bob) };
  const before = await ada.page.evaluate(() => window.hearthDebug.counters());
  const audio = async (me, from) => ((await stats(me))[from] || {}).audio?.packetsReceived ?? 0;
  // The namespace's only interface goes down: every socket of the server
  // and both browsers stalls, as when a laptop loses its network.
  execFileSync("ip", ["link", "set", "lo", "down"]);
  try {
    // Until both connections have noticed: the gateway, and the voice socket.
    await ada.page.locator("#connection").filter({ hasText: "Reconnecting" }).waitFor({ timeout: 20000 });
    await ada.page.locator("#voice-status").filter({ hasText: /Reconnecting|Rejoining/ }).waitFor({ timeout: 20000 });
  } finally {
    execFileSync("ip", ["link", "set", "lo", "up"]);
  }
  await ada.page.locator("#connection").waitFor({ state: "hidden", timeout: 30000 });
  const after = await ada.page.evaluate(() => window.hearthDebug.counters());
  assert.ok(after.resumed > before.resumed, `the gateway session was resumed: ${JSON.stringify(after)}`);
  assert.equal(after.ready, before.ready, "no new session was needed");
  // The call came back by resuming the voice socket or by joining anew.
  await ada.page.locator("#voice-status").filter({ hasText: "Voice connected" }).waitFor();
  await until("audio flowing both ways again", async () => {
    const [a, b] = [await audio(ada, ids.bob), await audio(bob, ids.ada)];
    // A new connection counts from zero: growth is what matters.
    await sleep(500);
    return (await audio(ada, ids.bob)) > a && (await audio(bob, ids.ada)) > b;
  }, 30000);
  const voice = await ada.page.evaluate(() => window.hearthDebug.counters());
  assert.ok(voice.voiceResumed + voice.voiceRejoined > 0, `the call was resumed or rejoined: ${JSON.stringify(voice)}`);
  // The chat missed nothing either: bob's message while ada resumed arrives.
  await bob.page.getByRole("button", { name: /text channel general/ }).click();
  await bob.page.getByLabel("Message", { exact: true }).fill("back online?");
  await bob.page.getByLabel("Message", { exact: true }).press("Enter");
  await ada.page.getByRole("button", { name: /text channel general/ }).click();
  await ada.page.locator("#message-list .message", { hasText: "back online?" }).waitFor();
  for (const p of [ada, bob]) await p.page.getByRole("button", { name: "voice channel General" }).click();
  await ada.page.locator(`#tiles .tile[data-user="${ids.bob}"][data-video="true"]`).waitFor();
});

test("after a server restart, both reconnect to new sessions and rejoin the call", async () => {
  const { ada, bob } = people;
  const ids = { ada: await myId(ada), bob: await myId(bob) };
  const before = await ada.page.evaluate(() => window.hearthDebug.counters());
  const listen = server.url.replace("http://", "");
  await server.stop({ keepData: true });
  // (Chromium in a namespace with only loopback may call itself offline,
  // which the banner then says instead.)
  await ada.page.locator("#connection").filter({ hasText: /Can't reach the server|You're offline/ }).waitFor();
  server = await startServer(serverArgs, { listen, dataDir: server.dataDir });
  await ada.page.locator("#connection").waitFor({ state: "hidden", timeout: 30000 });
  // Sessions live in memory: the old one is gone, a new one was made.
  const after = await ada.page.evaluate(() => window.hearthDebug.counters());
  assert.ok(after.ready > before.ready, `a new session: ${JSON.stringify(after)}`);
  for (const [me, other] of [[ada, bob], [bob, ada]]) {
    await me.page.locator("#voice-status").filter({ hasText: "Voice connected" }).waitFor({ timeout: 30000 });
    const from = ids[other.name];
    const first = await until(`${me.name} receiving ${other.name}'s audio again`, async () => ((await stats(me))[from] || {}).audio?.packetsReceived, 30000);
    await until(`${me.name}'s audio from ${other.name} growing`, async () => (await stats(me))[from].audio.packetsReceived > first);
    await me.page.locator(`#tiles .tile[data-user="${from}"][data-video="true"]`).waitFor();
  }
});

test("muting stops the audio the other receives; leaving removes the tile", async () => {
  const { ada, bob } = people;
  const adaId = await myId(ada);
  const audioFromAda = async () => ((await stats(bob))[adaId] || {}).audio?.packetsReceived ?? 0;
  await ada.page.getByRole("button", { name: "Mute", exact: true }).click();
  assert.equal(await ada.page.getByRole("button", { name: "Mute", exact: true }).getAttribute("aria-pressed"), "true");
  // Once the mute has reached the server, nothing more arrives from ada.
  await until("ada's audio to stop reaching bob", async () => {
    const a = await audioFromAda();
    await sleep(1000);
    return (await audioFromAda()) === a;
  });
  const stopped = await audioFromAda();
  await sleep(1500);
  assert.equal(await audioFromAda(), stopped, "audio kept arriving from a muted participant");
  // Unmuted, it flows again: the mute was the cause.
  await ada.page.getByRole("button", { name: "Mute", exact: true }).click();
  await until("ada's audio to reach bob again", async () => (await audioFromAda()) > stopped);

  // Deafened, bob receives nothing at all; undeafened, it comes back.
  await bob.page.getByRole("button", { name: "Deafen", exact: true }).click();
  await ada.page.locator(`#tiles .tile[data-user="${await myId(bob)}"]`, { hasText: "deafened" }).waitFor();
  await until("nothing reaching deafened bob", async () => {
    const a = await audioFromAda();
    await sleep(1000);
    return (await audioFromAda()) === a;
  });
  const deaf = await audioFromAda();
  await bob.page.getByRole("button", { name: "Deafen", exact: true }).click();
  await until("audio reaching bob again", async () => (await audioFromAda()) > deaf);

  const bobId = await myId(bob);
  await ada.page.locator(`#tiles .tile[data-user="${bobId}"]`).waitFor();
  await bob.page.getByRole("region", { name: "Voice connection" }).getByRole("button", { name: "Leave" }).click();
  await ada.page.locator(`#tiles .tile[data-user="${bobId}"]`).waitFor({ state: "detached" });
  await ada.page.locator(`.voice-user[data-user="${bobId}"]`).waitFor({ state: "detached" });
  // Bob's side cleans up too: no call, no own tile, nothing received, no
  // camera or microphone held; ada is still shown in the channel.
  await bob.page.locator("#voice-panel").waitFor({ state: "hidden" });
  await bob.page.locator(`#tiles .tile[data-user="${bobId}"]`).waitFor({ state: "detached" });
  await bob.page.locator(`#tiles .tile[data-user="${adaId}"][data-video="false"]`).waitFor();
  await bob.page.getByRole("button", { name: "Join voice" }).waitFor();
  assert.deepEqual(await stats(bob), {});
  assert.equal(await bob.page.locator("audio").count(), 0);
});

test("bob rejoins three times: ada gets his audio and video on the m-lines he left, and her session does not grow", async () => {
  const { ada, bob } = people;
  const bobId = await myId(bob);
  const mLines = async () => ((await ada.page.evaluate(() => window.hearthDebug.lastServerOffer())) || {}).sdp?.split("\r\n").filter((l) => l.startsWith("m=")).length ?? 0;
  const counts = [];
  for (let round = 0; round < 3; round++) {
    await bob.page.getByRole("button", { name: "Join voice" }).click();
    await bob.page.locator("#voice-status").filter({ hasText: "Voice connected" }).waitFor();
    await bob.page.getByRole("button", { name: "Camera" }).click();
    const first = await until(`round ${round}: ada receiving bob`, async () => {
      const s = (await stats(ada))[bobId];
      return s && s.audio && s.audio.packetsReceived > 0 && s.video && s.video.framesDecoded > 0 && s;
    }, 30000);
    await until(`round ${round}: bob's audio and video growing at ada`, async () => {
      const s = (await stats(ada))[bobId];
      return s && s.audio.packetsReceived > first.audio.packetsReceived && s.video.framesDecoded > first.video.framesDecoded;
    }, 30000);
    counts.push(await mLines());
    await bob.page.getByRole("region", { name: "Voice connection" }).getByRole("button", { name: "Leave" }).click();
    await ada.page.locator(`#tiles .tile[data-user="${bobId}"]`).waitFor({ state: "detached" });
  }
  console.log(`m-lines in ada's session per round: ${counts}`);
  assert.ok(counts[2] <= counts[0], `ada's session grew: ${counts}`);
});

test("on a phone with the microphone refused: a clear message, and the call is heard", async () => {
  const { ada } = people;
  const cy = await person("cy", { width: 390, height: 844 });
  people.cy = cy;
  // The browser says no to the microphone, as when a person clicks Block.
  await cy.context.addInitScript(() => {
    const real = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
    navigator.mediaDevices.getUserMedia = (c) => (c && c.audio
      ? Promise.reject(new DOMException("Permission denied", "NotAllowedError"))
      : real(c));
  });
  // A new visitor by an invite is offered to create an account, and told
  // up front where it leads, or that it leads nowhere.
  await cy.page.goto(`${server.url}/invite/nosuchinvite`);
  await cy.page.locator("#auth-invite").filter({ hasText: "This invite is invalid or has expired." }).waitFor();
  await cy.page.goto(inviteLink);
  await cy.page.locator("#auth-invite").filter({ hasText: "You've been invited to Weekend Workshop." }).waitFor();
  assert.equal(await cy.page.getByRole("tab", { name: "Register" }).getAttribute("aria-selected"), "true");
  await cy.page.getByRole("button", { name: "Create account" }).waitFor();
  await register(cy, inviteLink);
  await cy.page.getByRole("button", { name: "Join", exact: true }).click();
  await cy.page.locator("#channel-title").filter({ hasText: "# general" }).waitFor();
  // One column: the channels are behind a button.
  assert.equal(await cy.page.getByRole("button", { name: "voice channel General" }).isVisible(), false);
  await cy.page.getByRole("button", { name: "Channels" }).click();
  await cy.page.getByRole("button", { name: "voice channel General" }).click();
  await cy.page.getByRole("alert").filter({ hasText: "Access to the microphone was refused" }).waitFor();
  await cy.page.locator("#call-hint").filter({ hasText: "Voice connected" }).waitFor();
  const adaId = await myId(ada);
  const cyId = await myId(cy);
  // Ada sees cy in the call, muted; cy hears ada.
  await ada.page.locator(`#tiles .tile[data-user="${cyId}"]`, { hasText: "muted" }).waitFor();
  const first = await until("cy receiving ada's audio", async () => ((await stats(cy))[adaId] || {}).audio?.packetsReceived);
  await until("cy's audio from ada growing", async () => (await stats(cy))[adaId].audio.packetsReceived > first);
  await cy.page.screenshot({ path: join(artifacts, "phone-voice.png") });
  // The call's controls are at hand without opening the drawer.
  await cy.page.getByRole("group", { name: "Call controls" }).getByRole("button", { name: "Leave" }).click();
  await ada.page.locator(`#tiles .tile[data-user="${cyId}"]`).waitFor({ state: "detached" });
});

test("logging out ends the session; logging in brings the servers back", async () => {
  const { ada, bob } = people;
  await bob.page.getByRole("button", { name: "Log out" }).click();
  await bob.page.getByRole("button", { name: "Log in", exact: true }).waitFor();
  assert.equal(await bob.page.evaluate(() => localStorage.getItem("hearth.token")), null);
  await ada.page.locator(`#member-list .member[data-status="offline"]`, { hasText: bob.username }).waitFor();
  await bob.page.getByLabel("Username").fill(bob.username);
  await bob.page.getByLabel("Password").fill("wrong password");
  await bob.page.getByRole("button", { name: "Log in", exact: true }).click();
  await bob.page.locator("#auth-error").filter({ hasText: "Wrong username or password." }).waitFor();
  await bob.page.getByLabel("Password").fill("correct horse battery");
  await bob.page.getByRole("button", { name: "Log in", exact: true }).click();
  await bob.page.locator("#guild-name").filter({ hasText: "Workshop" }).waitFor();
  await ada.page.locator(`#member-list .member[data-status="online"]`, { hasText: bob.username }).waitFor();
});

test("ada calls bob in their DM: he accepts from the ringing notice, both see each other's tiles and the call in the DM list; then a call he declines", async () => {
  const { ada, bob } = people;
  const ids = { ada: await myId(ada), bob: await myId(bob) };
  // Ada is still in the server's voice channel; she opens her DM with bob
  // from the member list and starts a call there.
  await ada.page.getByRole("button", { name: `Message ${bob.username}` }).click();
  await ada.page.locator("#channel-title").filter({ hasText: `@${bob.username}` }).waitFor();
  const dmId = await ada.page.evaluate(() => localStorage.getItem("hearth.channel.@me"));
  await ada.page.getByRole("button", { name: "Start call", exact: true }).click();
  await ada.page.locator("#voice-status").filter({ hasText: "Voice connected" }).waitFor();
  await ada.page.locator("#voice-channel-name").filter({ hasText: "Direct Messages" }).waitFor();
  await ada.page.locator("#call-hint").filter({ hasText: `Ringing ${bob.username}` }).waitFor();
  // One call at a time: she left the voice channel for it.
  await bob.page.locator(`.voice-user[data-user="${ids.ada}"]`).waitFor({ state: "detached" });

  // Bob, looking at the server, is rung: who calls, and two labelled buttons.
  const notice = bob.page.getByRole("alertdialog", { name: "Incoming call" });
  await notice.filter({ hasText: `${ada.username} is calling you` }).waitFor();
  await bob.page.screenshot({ path: join(artifacts, "dm-call-ringing.png") });
  await notice.getByRole("button", { name: /^Accept/ }).click();
  await notice.waitFor({ state: "detached" });
  // Accepting opens the conversation and joins its call.
  await bob.page.locator("#channel-title").filter({ hasText: `@${ada.username}` }).waitFor();
  await bob.page.locator("#voice-status").filter({ hasText: "Voice connected" }).waitFor();
  await until("ada's hint no longer ringing bob", async () => !(await ada.page.locator("#call-hint").textContent()).includes("Ringing"));

  for (const [me, other] of [[ada, bob], [bob, ada]]) {
    // The call above the conversation, a tile each; the DM list marks the call and who is in it.
    await me.page.locator("#call-view.dm-call").waitFor();
    await me.page.locator("#chat-view").waitFor();
    await me.page.locator(`#tiles .tile[data-user="${ids[other.name]}"]`).waitFor();
    await me.page.locator(`#tiles .tile[data-user="${ids[me.name]}"]`).waitFor();
    await me.page.getByRole("button", { name: new RegExp(`direct message with ${other.username}, call in progress`) }).waitFor();
    await me.page.locator(`#channel-list .channel[data-channel="${dmId}"][data-call="true"] .call-badge`).waitFor();
    await me.page.locator(`#channel-list .voice-user[data-user="${ids[other.name]}"]`).waitFor();
    // In the call: no Start/Join button.
    assert.equal(await me.page.locator("#dm-call").isVisible(), false);
    // The call's line in the conversation (type 3): a system line, no actions.
    const line = me.page.locator("#message-list .call-message").last();
    await line.filter({ hasText: `${ada.username} started a call.` }).waitFor();
    assert.equal(await line.locator(".message-actions").count(), 0);
  }
  for (const p of [ada, bob]) await p.page.getByRole("button", { name: "Camera" }).click();
  for (const [me, other] of [[ada, bob], [bob, ada]]) {
    const from = ids[other.name];
    const first = await until(`${me.name} receiving audio and video from ${other.name} in the DM call`, async () => {
      const s = (await stats(me))[from];
      return s && s.audio && s.audio.packetsReceived > 0 && s.video && s.video.framesDecoded > 0 && s;
    }, 30000);
    await until(`${me.name}'s media from ${other.name} growing`, async () => {
      const s = (await stats(me))[from];
      return s.audio.packetsReceived > first.audio.packetsReceived && s.video.framesDecoded > first.video.framesDecoded;
    });
    await me.page.locator(`#tiles .tile[data-user="${from}"][data-video="true"]`).waitFor();
  }
  await ada.page.screenshot({ path: join(artifacts, "dm-call.png") });

  // Bob leaves: ada's tile of him goes; the call goes on, and bob may join it again.
  await bob.page.getByRole("button", { name: "Leave" }).click();
  await ada.page.locator(`#tiles .tile[data-user="${ids.bob}"]`).waitFor({ state: "detached" });
  await bob.page.locator("#voice-panel").waitFor({ state: "hidden" });
  await bob.page.getByRole("button", { name: "Join call", exact: true }).waitFor();
  await bob.page.locator(`#channel-list .channel[data-channel="${dmId}"][data-call="true"]`).waitFor();
  // Ada leaves, the last one: the call ends (CALL_DELETE) for both.
  await ada.page.getByRole("button", { name: "Leave" }).click();
  for (const p of [ada, bob]) {
    await p.page.locator(`#channel-list .channel[data-channel="${dmId}"][data-call="false"]`).waitFor();
    await p.page.locator("#channel-list .call-badge").waitFor({ state: "detached" });
    await p.page.locator("#call-view").waitFor({ state: "hidden" });
    await p.page.getByRole("button", { name: "Start call", exact: true }).waitFor();
  }
  // The call's line says how long it lasted, to both (both took part).
  for (const p of [ada, bob]) {
    await p.page.locator('#message-list .call-message[data-ended="true"]').last()
      .filter({ hasText: new RegExp(`${ada.username} started a call that lasted (a few seconds|a minute|\\d+ minutes)\\.`) }).waitFor();
  }
  assert.deepEqual(await stats(ada), {});

  // Ada calls again; bob declines: his notice goes, her call carries on.
  await ada.page.getByRole("button", { name: "Start call", exact: true }).click();
  await ada.page.locator("#voice-status").filter({ hasText: "Voice connected" }).waitFor();
  await notice.filter({ hasText: `${ada.username} is calling you` }).waitFor();
  await notice.getByRole("button", { name: /^Decline/ }).click();
  await notice.waitFor({ state: "detached" });
  await until("ada's hint no longer ringing bob", async () => !(await ada.page.locator("#call-hint").textContent()).includes("Ringing"));
  await ada.page.locator("#voice-status").filter({ hasText: "Voice connected" }).waitFor();
  await ada.page.locator(`#tiles .tile[data-user="${ids.ada}"]`).waitFor();
  assert.equal(await bob.page.locator("#voice-panel").isVisible(), false);
  await bob.page.getByRole("button", { name: "Join call", exact: true }).waitFor();
  await bob.page.locator(`#channel-list .channel[data-channel="${dmId}"][data-call="true"]`).waitFor();
  await ada.page.getByRole("button", { name: "Leave" }).click();
  for (const p of [ada, bob]) await p.page.locator(`#channel-list .channel[data-channel="${dmId}"][data-call="false"]`).waitFor();
  // Bob, who declined, missed it; ada did not.
  await bob.page.locator('#message-list .call-message.missed[data-ended="true"]').last()
    .filter({ hasText: `You missed a call from ${ada.username} that lasted a few seconds.` }).waitFor();
  await ada.page.locator('#message-list .call-message[data-ended="true"]').last()
    .filter({ hasText: `${ada.username} started a call that lasted a few seconds.` }).waitFor();
});

test("in a cluster, a call whose SFU node is killed comes back on the other node by itself: media flows both ways again", async () => {
  // Two nodes of one cluster (regions eu and us) on a Redis key prefix of
  // their own, sharing one store; the app is served by eu.
  redis = await clusterRedis();
  const prefix = `hearth-web-${process.pid}-${Date.now()}:`;
  const nodeArgs = (region) => [...serverArgs, "--rate-limits", "off", "--rtc-bind", "127.0.0.1", "--rtc-port", "0",
    "--redis", redis.url, "--redis-prefix", prefix, "--region", region];
  cluster.eu = await startServer(nodeArgs("eu"));
  cluster.us = await startServer(nodeArgs("us"), { dataDir: cluster.eu.dataDir });
  const { eu, us } = cluster;
  const origins = () => [eu.url, us.url];
  const fay = people.fay = await person("fay", undefined, origins);
  const gus = people.gus = await person("gus", undefined, origins);
  for (const p of [fay, gus]) await register(p, eu.url);
  await fay.page.getByRole("button", { name: "Create a server" }).click();
  await fay.page.getByLabel("Server name").fill("Relay");
  await fay.page.getByRole("button", { name: "Create", exact: true }).click();
  await fay.page.locator("#guild-name").filter({ hasText: "Relay" }).waitFor();
  // A voice channel whose calls are hosted in region us (the app's dialog
  // has no region: through the API, as an admin tool would).
  const token = await fay.page.evaluate(() => localStorage.getItem("hearth.token"));
  const guildId = await fay.page.evaluate(() => localStorage.getItem("hearth.guild"));
  const made = await fetch(`${eu.url}/api/v10/guilds/${guildId}/channels`, {
    method: "POST", headers: { Authorization: token, "Content-Type": "application/json" },
    body: JSON.stringify({ name: "US Stage", type: 2, rtc_region: "us" }),
  });
  assert.ok(made.ok, `creating the us voice channel: ${made.status} ${await made.text()}`);
  await fay.page.getByRole("button", { name: "Invite people" }).click();
  const link = await fay.page.getByLabel("Invite link").inputValue();
  await fay.page.getByRole("button", { name: "Done" }).click();
  await gus.page.goto(link);
  await gus.page.getByRole("button", { name: "Join", exact: true }).click();
  await gus.page.locator("#guild-name").filter({ hasText: "Relay" }).waitFor();

  const ids = { fay: await myId(fay), gus: await myId(gus) };
  const host = (node) => new URL(node.url).host;
  // The node whose voice gateway the page opened last.
  const voiceHost = (p) => {
    const last = p.sockets.filter((u) => new URL(u).pathname.startsWith("/voice")).at(-1);
    return last && new URL(last).host;
  };
  const media = async (me, other) => {
    const s = (await stats(me))[ids[other.name]] || {};
    return { audio: s.audio?.packetsReceived ?? 0, video: s.video?.framesDecoded ?? 0 };
  };
  // Audio and video, both ways: each grows between two looks (a new
  // connection counts from zero, so growth is what matters).
  const pairs = [[fay, gus], [gus, fay]];
  const flowingBothWays = (what) => until(what, async () => {
    const a = await Promise.all(pairs.map(([me, other]) => media(me, other)));
    await sleep(500);
    const b = await Promise.all(pairs.map(([me, other]) => media(me, other)));
    return a.every((x, i) => b[i].audio > x.audio && b[i].video > x.video) || { before: a, after: b };
  }, 30000);

  for (const p of [fay, gus]) {
    await p.page.getByRole("button", { name: "voice channel US Stage" }).click();
    await p.page.locator("#voice-status").filter({ hasText: "Voice connected" }).waitFor({ timeout: 30000 });
    await p.page.getByRole("button", { name: "Camera" }).click();
  }
  // Both were sent to the us node, which hosts the room.
  for (const p of [fay, gus]) assert.equal(voiceHost(p), host(us), `${p.name}'s voice sockets: ${p.sockets}`);
  await flowingBothWays("audio and video flowing both ways through the us node");
  for (const [me, other] of pairs) await me.page.locator(`#tiles .tile[data-user="${ids[other.name]}"][data-video="true"]`).waitFor();

  // The us node dies. Nobody does anything: the eu node notices, places
  // the room anew (on itself) and sends both a VOICE_SERVER_UPDATE.
  const killed = Date.now();
  await us.kill9();
  for (const p of [fay, gus]) await until(`${p.name}'s voice socket on the eu node`, () => voiceHost(p) === host(eu), 30000);
  await flowingBothWays("audio and video flowing both ways again, through the eu node");
  const recovered = Date.now() - killed;
  console.log(`SFU node killed -> audio and video flowing both ways again on the other node in ${recovered} ms`);
  for (const p of [fay, gus]) {
    const voice = p.sockets.filter((u) => new URL(u).pathname.startsWith("/voice")).map((u) => (new URL(u).host === host(eu) ? "eu" : "us"));
    const counters = await p.page.evaluate(() => window.hearthDebug.counters());
    console.log(`${p.name}: voice sockets opened ${voice.join(" ")}; rejoined ${counters.voiceRejoined}, resumed ${counters.voiceResumed}`);
  }
  for (const [me, other] of pairs) {
    await me.page.locator("#voice-status").filter({ hasText: "Voice connected" }).waitFor();
    // Still in the channel for the other, camera on.
    await me.page.locator(`.voice-user[data-user="${ids[other.name]}"]`).waitFor();
    await me.page.locator(`#tiles .tile[data-user="${ids[other.name]}"][data-video="true"]`).waitFor();
  }
});

test("nothing failed in the page and nothing was fetched from elsewhere", () => {
  assert.deepEqual(pageErrors, []);
  for (const p of Object.values(people)) assert.deepEqual(p.foreign, [], `${p.name} fetched from outside the server`);
});
