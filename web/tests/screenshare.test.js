// Screen sharing and the call view, in browser contexts of a real Chromium
// against a real server: ada shares her screen (Chromium's fake display
// source: with --use-fake-ui-for-media-stream and
// --use-fake-device-for-media-stream, getDisplayMedia gives a moving
// 1280x720 "screen" and a fake sound without a picker), bob watches it on
// the stage, focuses tiles, and cy makes the grid grow.

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test as nodeTest } from "node:test";
import { artifacts, launchBrowser, startServer, until } from "./harness.js";

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
        await p.page.screenshot({ path: join(artifacts, `failed-screenshare-${p.name}.png`) }).catch(() => {});
        const debug = await p.page.evaluate(async () => (window.hearthDebug ? {
          inbound: await window.hearthDebug.inboundStats(), trace: window.hearthDebug.voiceTrace(),
          offer: window.hearthDebug.lastServerOffer(),
        } : null)).catch(() => null);
        writeFileSync(join(artifacts, `failed-screenshare-${p.name}.json`), JSON.stringify(debug, null, 2));
      }
      writeFileSync(join(artifacts, "failed-screenshare-server.log"), server ? server.log.join("") : "");
      writeFileSync(join(artifacts, "failed-screenshare-page-errors.json"), JSON.stringify(pageErrors, null, 2));
      throw err;
    }
  });
}

let server;
let browser;
const people = {};
const pageErrors = [];
const PASSWORD = "correct horse battery";

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
  people.cy = await person("cy");
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  if (server) await server.stop();
});

async function register(p) {
  await p.page.goto(server.url);
  await p.page.getByRole("tab", { name: "Register" }).click();
  await p.page.getByLabel("Username").fill(p.username);
  await p.page.getByLabel("Password").fill(PASSWORD);
  await p.page.getByRole("button", { name: "Create account" }).click();
  await p.page.locator("#me-name").filter({ hasText: p.username }).waitFor({ state: "attached" });
}

const myId = (p) => p.page.evaluate(() => window.hearthDebug.me().id);
const stats = (p) => p.page.evaluate(() => window.hearthDebug.inboundStats());
const ids = {};
let invite = null;

const cameraTile = (p, who) => p.page.locator(`#tiles .tile[data-user="${ids[who]}"]`);
const cameraOn = (p, who) => p.page.locator(`#tiles .tile[data-user="${ids[who]}"][data-video="true"]`);
const screenTile = (p, who) => p.page.locator(`#tiles .tile.screen[data-screen="${ids[who]}"]`);
const shareButton = (p) => p.page.locator("#voice-screen");
/** How many columns the grid of the call view has, as laid out. */
const columns = (p) => p.page.locator("#tiles").evaluate((el) => getComputedStyle(el).gridTemplateColumns.split(" ").length);
/** The keys of the tiles on the stage (at most one). */
const staged = (p) => p.page.locator("#tiles .tile.staged").evaluateAll((els) => els.map((el) => el.dataset.user || `screen:${el.dataset.screen}`));

async function joinVoice(p) {
  await p.page.getByRole("button", { name: "voice channel General" }).click();
  await p.page.locator("#voice-status").filter({ hasText: "Voice connected" }).waitFor();
}

/** Whether `slot` ("video", "screen", "screenAudio") of `who` as `p` receives it keeps growing in `field`. */
async function grows(p, who, slot, field, what) {
  const read = async () => ((await stats(p))[ids[who]] || {})[slot]?.[field] ?? 0;
  const first = await read();
  await until(what, async () => (await read()) > first);
}

test("screenshare: ada makes a server, bob and cy join it; ada and bob join the voice channel, ada's camera on", async () => {
  for (const p of Object.values(people)) await register(p);
  const { ada, bob, cy } = people;
  for (const p of [ada, bob, cy]) ids[p.name] = await myId(p);
  await ada.page.getByRole("button", { name: "Create a server" }).click();
  await ada.page.getByLabel("Server name").fill("Screening Room");
  await ada.page.getByRole("button", { name: "Create", exact: true }).click();
  await ada.page.locator("#channel-title").filter({ hasText: "# general" }).waitFor();
  await ada.page.getByRole("button", { name: "Invite people" }).click();
  invite = await ada.page.getByLabel("Invite link").inputValue();
  await ada.page.getByRole("button", { name: "Done" }).click();
  for (const p of [bob, cy]) {
    await p.page.goto(invite);
    await p.page.getByRole("button", { name: "Join", exact: true }).click();
    await p.page.locator("#channel-title").filter({ hasText: "# general" }).waitFor();
  }
  for (const p of [ada, bob]) await joinVoice(p);
  await bob.page.locator(`#tiles .tile[data-user="${ids.ada}"]`).waitFor();
  // Not sharing: the button says what it does, and nobody has a screen tile.
  assert.equal(await shareButton(ada).textContent(), "Share screen");
  assert.equal(await shareButton(ada).getAttribute("aria-pressed"), "false");
  await ada.page.getByRole("button", { name: "Camera" }).click();
  await cameraOn(bob, "ada").waitFor();
  assert.equal(await bob.page.locator("#tiles .tile.screen").count(), 0);
  assert.deepEqual(await staged(bob), []);
  // Two tiles side by side.
  assert.equal(await columns(bob), 2);
});

test("screenshare: cancelling the browser's picker changes nothing", async () => {
  const { ada } = people;
  // The picker cannot be cancelled headless: the page's getDisplayMedia
  // answers as a cancelled one does, for this step only.
  await ada.page.evaluate(() => {
    window.pickerCancelled = 0;
    navigator.mediaDevices.getDisplayMedia = () => {
      window.pickerCancelled += 1;
      return Promise.reject(new DOMException("Permission denied", "NotAllowedError"));
    };
  });
  await shareButton(ada).click();
  await until("the picker asked", () => ada.page.evaluate(() => window.pickerCancelled === 1));
  // Past the refusal's handling (a task after the rejection).
  await ada.page.evaluate(() => new Promise((r) => setTimeout(r, 0)));
  assert.equal(await shareButton(ada).getAttribute("aria-pressed"), "false");
  assert.equal(await shareButton(ada).textContent(), "Share screen");
  assert.equal(await ada.page.locator("#tiles .tile.screen").count(), 0);
  assert.equal(await ada.page.getByRole("alert").filter({ hasText: "screen" }).count(), 0);
  // Back to the browser's own.
  await ada.page.evaluate(() => { delete navigator.mediaDevices.getDisplayMedia; });
  assert.equal(await ada.page.evaluate(() => typeof navigator.mediaDevices.getDisplayMedia), "function");
});

test("screenshare: ada shares her screen; bob sees 'ada's screen' on the stage, decoded, beside her camera's tile, and hears its sound", async () => {
  const { ada, bob } = people;
  await shareButton(ada).click();
  await until("ada's button to say she shares", async () => (await shareButton(ada).getAttribute("aria-pressed")) === "true");
  assert.equal(await shareButton(ada).textContent(), "Stop sharing");
  // The phone's controls say the same.
  assert.equal(await ada.page.locator('#call-controls [data-action="screen"]').getAttribute("aria-pressed"), "true");
  // Her own screen shows for her, in the grid (not on her stage: it would show itself).
  await screenTile(ada, "ada").waitFor();
  assert.deepEqual(await staged(ada), []);

  const tile = screenTile(bob, "ada");
  await tile.waitFor();
  assert.equal(await tile.locator(".tile-name").textContent(), `${ada.username}'s screen`);
  await until("ada's screen on bob's stage", async () => (await staged(bob)).join() === `screen:${ids.ada}`);
  await grows(bob, "ada", "screen", "framesDecoded", "frames of ada's screen decoded by bob");
  // The voice list says she is live (her voice state's self_stream).
  await bob.page.locator(`.voice-user[data-user="${ids.ada}"] .live-badge`).waitFor();
  assert.match(await bob.page.locator(`.voice-user[data-user="${ids.ada}"] .flags`).getAttribute("title"), /sharing their screen/);
  await until("ada's screen playing in its tile", () => tile.locator("video").evaluate((v) => v.videoWidth > 0 && !v.paused));
  // Her camera is its own tile, still showing her camera, below the stage.
  await cameraOn(bob, "ada").waitFor();
  await grows(bob, "ada", "video", "framesDecoded", "frames of ada's camera still decoded by bob");
  const [screenWidth, cameraTrack, screenTrack] = await bob.page.evaluate((id) => {
    const s = document.querySelector(`#tiles .tile.screen[data-screen="${id}"] video`).srcObject.getVideoTracks()[0];
    const c = document.querySelector(`#tiles .tile[data-user="${id}"] video`).srcObject.getVideoTracks()[0];
    return [document.querySelector(`#tiles .tile.screen[data-screen="${id}"]`).getBoundingClientRect().width, c.id, s.id];
  }, ids.ada);
  assert.notEqual(cameraTrack, screenTrack);
  const cameraWidth = await cameraTile(bob, "ada").evaluate((el) => el.getBoundingClientRect().width);
  assert.ok(screenWidth > cameraWidth, `the stage (${screenWidth}px) is wider than a grid tile (${cameraWidth}px)`);

  // The shared screen's sound plays like her voice, at the volume bob gave her.
  const screenAudio = bob.page.locator(`audio[data-screen="${ids.ada}"]`);
  await screenAudio.waitFor({ state: "attached" });
  await grows(bob, "ada", "screenAudio", "packetsReceived", "packets of ada's screen sound reaching bob");
  const slider = cameraTile(bob, "ada").getByRole("slider", { name: /^Volume of / });
  await slider.focus();
  await bob.page.keyboard.press("Home");
  await until("ada's screen sound at bob's volume 0", () => screenAudio.evaluate((el) => el.volume === 0));
  await bob.page.keyboard.press("End");
  await until("ada's screen sound back at 100%", () => screenAudio.evaluate((el) => el.volume === 1));
  // Adjusting the volume is not a click on the tile: the stage did not change.
  assert.deepEqual(await staged(bob), [`screen:${ids.ada}`]);
  // Deafened: no sound, the screen still shown.
  await bob.page.getByRole("button", { name: "Deafen", exact: true }).click();
  assert.equal(await screenAudio.evaluate((el) => el.muted), true);
  await grows(bob, "ada", "screen", "framesDecoded", "ada's screen still decoded while bob is deafened");
  await bob.page.getByRole("button", { name: "Deafen", exact: true }).click();
  assert.equal(await screenAudio.evaluate((el) => el.muted), false);
  await bob.page.screenshot({ path: join(artifacts, "screenshare-stage-bob.png") });
});

test("screenshare: bob puts ada's camera on the stage and back, and the screen by keyboard", async () => {
  const { bob } = people;
  await cameraTile(bob, "ada").click();
  assert.deepEqual(await staged(bob), [ids.ada]);
  assert.match(await cameraTile(bob, "ada").getAttribute("aria-label"), /, shown large$/);
  // Clicked again: back in the grid, and nothing on the stage.
  await cameraTile(bob, "ada").click();
  assert.deepEqual(await staged(bob), []);
  assert.doesNotMatch(await cameraTile(bob, "ada").getAttribute("aria-label"), /shown large/);
  // Three tiles in the grid: two columns.
  assert.equal(await columns(bob), 2);
  await screenTile(bob, "ada").focus();
  await bob.page.keyboard.press("Enter");
  assert.deepEqual(await staged(bob), [`screen:${ids.ada}`]);
  await bob.page.keyboard.press("Enter");
  assert.deepEqual(await staged(bob), []);
  await bob.page.keyboard.press("Enter");
  assert.deepEqual(await staged(bob), [`screen:${ids.ada}`]);
});

test("screenshare: ada stops sharing; the screen tile goes for bob and the button says so", async () => {
  const { ada, bob } = people;
  await shareButton(ada).click();
  assert.equal(await shareButton(ada).getAttribute("aria-pressed"), "false");
  assert.equal(await shareButton(ada).textContent(), "Share screen");
  await screenTile(ada, "ada").waitFor({ state: "detached" });
  await screenTile(bob, "ada").waitFor({ state: "detached", timeout: 30000 });
  assert.deepEqual(await staged(bob), []);
  await bob.page.locator(`.voice-user[data-user="${ids.ada}"] .live-badge`).waitFor({ state: "detached" });
  // Her camera tile stays.
  await cameraOn(bob, "ada").waitFor();
  // Sharing again, and the browser's own "Stop sharing" (the track ends) stops it too.
  await shareButton(ada).click();
  await screenTile(bob, "ada").waitFor();
  await until("ada's screen on bob's stage again", async () => (await staged(bob)).join() === `screen:${ids.ada}`);
  await ada.page.evaluate(() => window.hearthDebug.screenStream().getVideoTracks()[0].dispatchEvent(new Event("ended")));
  await until("ada's button back to Share screen", async () => (await shareButton(ada).getAttribute("aria-pressed")) === "false");
  await screenTile(bob, "ada").waitFor({ state: "detached", timeout: 30000 });
});

test("screenshare: with three in the call and two screens shared, the grid has three columns", async () => {
  const { ada, bob, cy } = people;
  await joinVoice(cy);
  for (const p of [ada, bob]) await cameraTile(p, "cy").waitFor();
  // Three tiles: two columns (2×2).
  assert.equal(await columns(bob), 2);
  await shareButton(ada).click();
  await until("ada's screen on bob's stage", async () => (await staged(bob)).join() === `screen:${ids.ada}`);
  await shareButton(cy).click();
  for (const who of ["ada", "cy"]) await screenTile(bob, who).waitFor();
  // cy's came last: it takes the stage, and four tiles are in two columns.
  await until("cy's screen on bob's stage", async () => (await staged(bob)).join() === `screen:${ids.cy}`);
  assert.equal(await columns(bob), 2);
  // Put back: five tiles, three columns.
  await screenTile(bob, "cy").click();
  assert.deepEqual(await staged(bob), []);
  assert.equal(await columns(bob), 3);
  await grows(bob, "cy", "screen", "framesDecoded", "frames of cy's screen decoded by bob");
  await grows(bob, "ada", "screen", "framesDecoded", "frames of ada's screen decoded by bob");
  await bob.page.screenshot({ path: join(artifacts, "screenshare-grid-bob.png") });
  // The sizes the client picks, 1 to 12 tiles.
  const picked = await bob.page.evaluate(async () => {
    const { columnsFor } = await import("/js/call.js");
    return Array.from({ length: 12 }, (_, i) => columnsFor(i + 1));
  });
  assert.deepEqual(picked, [1, 2, 2, 2, 3, 3, 3, 3, 3, 4, 4, 4]);
  for (const p of [ada, bob, cy]) await p.page.locator("#voice-leave").click();
  await bob.page.locator("#tiles .tile.screen").waitFor({ state: "detached" });
});

test("screenshare: nothing failed in the page and nothing was fetched from elsewhere", () => {
  assert.deepEqual(pageErrors, []);
  for (const p of Object.values(people)) assert.deepEqual(p.foreign, [], `${p.name} fetched from outside the server`);
});
