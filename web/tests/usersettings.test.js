// The user settings, in two browser contexts of a real Chromium (with its
// fake microphone and camera) against a real server: ada changes her
// profile, appearance and voice settings; bob sees what reaches others.

import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { after, before, test as nodeTest } from "node:test";
import { artifacts, launchBrowser, sleep, startServer, until } from "./harness.js";

// axe-core, for the light theme's contrast: run in a context of its own
// that bypasses the page's CSP (ada's and bob's keep it, so an avatar the
// policy refused would show here).
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

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
        await p.page.screenshot({ path: join(artifacts, `failed-usersettings-${p.name}.png`) }).catch(() => {});
        const debug = await p.page.evaluate(async () => (window.hearthDebug ? {
          inbound: await window.hearthDebug.inboundStats(), trace: window.hearthDebug.voiceTrace(),
          users: [...(await import("/js/state.js")).state.guilds.values()].map((g) => [...g.members.values()].map((m) => ({ ...m.user, avatar: m.user && m.user.avatar && m.user.avatar.slice(0, 30) }))),
        } : null)).catch(() => null);
        writeFileSync(join(artifacts, `failed-usersettings-${p.name}.json`), JSON.stringify(debug, null, 2));
      }
      writeFileSync(join(artifacts, "failed-usersettings-server.log"), server ? server.log.join("") : "");
      writeFileSync(join(artifacts, "failed-usersettings-page-errors.json"), JSON.stringify(pageErrors, null, 2));
      throw err;
    }
  });
}

let server;
let browser;
const people = {};
const pageErrors = [];
const PASSWORD = "correct horse battery";
const NEW_PASSWORD = "staple battery horse";

async function person(name, { bypassCSP = false } = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, bypassCSP });
  const page = await context.newPage();
  page.setDefaultTimeout(20000);
  page.on("pageerror", (err) => pageErrors.push(`${name}: ${err.message}`));
  page.on("console", (msg) => {
    const text = msg.text();
    if (msg.type() !== "error" || text.startsWith("Failed to load resource")) return;
    pageErrors.push(`${name} console: ${text}`);
  });
  // Nothing may be fetched from anywhere but the server (blob: avatars are the page's own).
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
  await p.page.getByLabel("Password").fill(PASSWORD);
  await p.page.getByRole("button", { name: "Create account" }).click();
  await p.page.locator("#me-name").filter({ hasText: p.username }).waitFor({ state: "attached" });
}

const myId = (p) => p.page.evaluate(() => window.hearthDebug.me().id);
const settings = (p) => p.page.locator("#settings");
const memberRow = (p, id) => p.page.locator(`#member-list .member[data-user="${id}"]`);
const stats = (p) => p.page.evaluate(() => window.hearthDebug.inboundStats());

async function openSection(p, label) {
  if (!(await settings(p).isVisible())) await p.page.getByRole("button", { name: "User settings" }).click();
  await settings(p).getByRole("button", { name: label, exact: true }).click();
  await settings(p).getByRole("heading", { name: label, exact: true, level: 3 }).waitFor();
}

async function closeSettings(p) {
  await settings(p).getByRole("button", { name: "Close settings" }).click();
  await settings(p).waitFor({ state: "hidden" });
}

async function send(p, text) {
  const input = p.page.getByLabel("Message", { exact: true });
  await input.fill(text);
  await input.press("Enter");
  await p.page.locator("#message-list .message:not(.pending)", { hasText: text }).waitFor();
}

/** axe-core's serious and critical violations of what `p` shows now. */
async function seriousViolations(p, view) {
  await p.page.screenshot({ path: join(artifacts, `usersettings-${view}.png`) });
  const found = await p.page.evaluate(async (source) => {
    if (!window.axe) (0, eval)(source);
    const result = await window.axe.run(document, { resultTypes: ["violations"] });
    return result.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.id}: ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`);
  }, axeSource);
  return found.map((f) => `${view}: ${f}`);
}

const ids = {};

test("usersettings: both register; ada makes a server, bob joins it", async () => {
  for (const p of Object.values(people)) await register(p);
  const { ada, bob } = people;
  ids.ada = await myId(ada);
  ids.bob = await myId(bob);
  await ada.page.getByRole("button", { name: "Create a server" }).click();
  await ada.page.getByLabel("Server name").fill("Study Hall");
  await ada.page.getByRole("button", { name: "Create", exact: true }).click();
  await ada.page.locator("#channel-title").filter({ hasText: "# general" }).waitFor();
  await ada.page.getByRole("button", { name: "Invite people" }).click();
  const link = await ada.page.getByLabel("Invite link").inputValue();
  await ada.page.getByRole("button", { name: "Done" }).click();
  await bob.page.goto(link);
  await bob.page.getByRole("button", { name: "Join", exact: true }).click();
  await bob.page.locator("#channel-title").filter({ hasText: "# general" }).waitFor();
  await bob.page.locator(`#member-list .member[data-user="${ids.ada}"][data-status="online"]`).waitFor();
  // The settings open on "My account", its sections on the left.
  await ada.page.getByRole("button", { name: "User settings" }).click();
  await settings(ada).getByRole("heading", { name: "User settings" }).waitFor();
  const sections = await settings(ada).locator(".settings-tab").allTextContents();
  assert.deepEqual(sections, ["My account", "Profile", "Appearance", "Voice & video", "Notifications", "Blocked users"]);
  await settings(ada).getByText(`@${ada.username}`).waitFor();
  await closeSettings(ada);
});

test("usersettings: ada changes her display name and avatar; bob's member list and her messages show them at once", async () => {
  const { ada, bob } = people;
  await send(ada, "Hello from before the rename");
  await bob.page.locator("#message-list .message", { hasText: "Hello from before the rename" }).locator(".author").filter({ hasText: ada.username }).waitFor();

  await openSection(ada, "Profile");
  await settings(ada).getByLabel("Display name").fill("Ada Lovelace");
  await settings(ada).getByRole("button", { name: "Save display name" }).click();
  // Her own views follow at once: the user panel, her row, her message.
  await ada.page.locator("#me-name").filter({ hasText: "Ada Lovelace" }).waitFor({ state: "attached" });
  await memberRow(ada, ids.ada).locator(".member-name", { hasText: "Ada Lovelace" }).waitFor();
  await ada.page.locator("#message-list .message", { hasText: "Hello from before the rename" }).locator(".author", { hasText: "Ada Lovelace" }).waitFor();

  // An avatar: a picture file, sent as a small data URI; the server keeps
  // the file and the user its hash, shown from /avatars/ on this server.
  const png = await ada.page.evaluate(() => {
    const c = document.createElement("canvas");
    c.width = 80; c.height = 50;
    const x = c.getContext("2d");
    x.fillStyle = "#e91e63"; x.fillRect(0, 0, 80, 50);
    x.fillStyle = "#ffeb3b"; x.fillRect(25, 10, 30, 30);
    return c.toDataURL("image/png").split(",")[1];
  });
  await settings(ada).locator("#profile-avatar-file").setInputFiles({ name: "me.png", mimeType: "image/png", buffer: Buffer.from(png, "base64") });
  await settings(ada).getByRole("button", { name: "Remove avatar" }).waitFor();
  const stored = await ada.page.evaluate(() => window.hearthDebug.me().avatar);
  assert.match(stored, /^[0-9a-f]{32}$/);
  const preview = settings(ada).locator("#profile-avatar-preview img");
  await preview.waitFor();
  assert.equal(await preview.getAttribute("src"), `/avatars/${ids.ada}/${stored}.png`);
  await until("ada's avatar preview loaded under the page's CSP", () => preview.evaluate((img) => img.complete && img.naturalWidth === 128));
  await closeSettings(ada);
  await memberRow(ada, ids.ada).locator("img.avatar").waitFor();

  // The server tells the servers she is in (GUILD_MEMBER_UPDATE), so bob's
  // list and her earlier message follow at once, with nothing new sent.
  await memberRow(bob, ids.ada).locator(".member-name", { hasText: "Ada Lovelace" }).waitFor();
  await bob.page.locator("#message-list .message", { hasText: "Hello from before the rename" }).locator(".author", { hasText: "Ada Lovelace" }).waitFor();
  const bobSees = memberRow(bob, ids.ada).locator("img.avatar");
  await bobSees.waitFor();
  await until("ada's avatar loaded in bob's member list", () => bobSees.evaluate((img) => img.complete && img.naturalWidth > 0));
  await bob.page.screenshot({ path: join(artifacts, "usersettings-rename-bob.png") });
});

test("usersettings: ada sets a custom status; bob sees it under her name and in her profile; cleared, it goes", async () => {
  const { ada, bob } = people;
  await openSection(ada, "Profile");
  await settings(ada).getByLabel("Status text").fill("Writing the notes on the engine");
  await settings(ada).getByRole("button", { name: "Set status" }).click();
  await closeSettings(ada);
  await memberRow(ada, ids.ada).locator(".member-status", { hasText: "Writing the notes on the engine" }).waitFor();
  await memberRow(bob, ids.ada).locator(".member-status", { hasText: "Writing the notes on the engine" }).waitFor();
  await memberRow(bob, ids.ada).locator(".member-open").click();
  const profile = bob.page.getByRole("dialog", { name: "Ada Lovelace" });
  await profile.locator(".profile-custom-status", { hasText: "Writing the notes on the engine" }).waitFor();
  await bob.page.keyboard.press("Escape");
  // A new session of hers sends it again (Identify): a reload keeps it.
  await ada.page.reload();
  await memberRow(ada, ids.ada).locator(".member-status", { hasText: "Writing the notes on the engine" }).waitFor();
  await memberRow(bob, ids.ada).locator(".member-status", { hasText: "Writing the notes on the engine" }).waitFor();

  await openSection(ada, "Profile");
  await settings(ada).getByRole("button", { name: "Clear status" }).click();
  await closeSettings(ada);
  await memberRow(bob, ids.ada).locator(".member-status").waitFor({ state: "detached" });
  await memberRow(ada, ids.ada).locator(".member-status").waitFor({ state: "detached" });
});

test("usersettings: a wrong current password is said at its field; the right one changes it, the session goes on, and the new password logs in", async () => {
  const { ada, bob } = people;
  await openSection(ada, "My account");
  await settings(ada).getByLabel("Current password").fill("not my password");
  await settings(ada).getByLabel("New password", { exact: true }).fill(NEW_PASSWORD);
  await settings(ada).getByLabel("Confirm new password").fill(NEW_PASSWORD);
  await settings(ada).getByRole("button", { name: "Change password" }).click();
  const current = settings(ada).getByLabel("Current password");
  await settings(ada).locator("#password-current-error").filter({ hasText: "Password does not match." }).waitFor();
  assert.equal(await current.getAttribute("aria-invalid"), "true");
  // Two different new passwords are caught before asking the server.
  await current.fill(PASSWORD);
  await settings(ada).getByLabel("Confirm new password").fill("something else entirely");
  await settings(ada).getByRole("button", { name: "Change password" }).click();
  await settings(ada).locator("#password-confirm-error").filter({ hasText: "The passwords don't match." }).waitFor();
  assert.equal(await current.getAttribute("aria-invalid"), null);

  await settings(ada).getByLabel("Confirm new password").fill(NEW_PASSWORD);
  await settings(ada).getByRole("button", { name: "Change password" }).click();
  await ada.page.getByRole("status").filter({ hasText: "Your password is changed." }).waitFor();
  // Every old token is revoked; this tab goes on with the new one.
  await closeSettings(ada);
  await ada.page.locator("#app").waitFor();
  await ada.page.getByRole("button", { name: /text channel general/ }).click();
  await send(ada, "Still here after the change");
  await bob.page.locator("#message-list .message", { hasText: "Still here after the change" }).waitFor();
  await bob.page.locator(`#member-list .member[data-user="${ids.ada}"][data-status="online"]`).waitFor();

  // Logged out, the old password is refused and the new one works.
  await ada.page.locator("#logout").click();
  await ada.page.getByRole("button", { name: "Log in", exact: true }).waitFor();
  await ada.page.getByLabel("Username").fill(ada.username);
  await ada.page.getByLabel("Password").fill(PASSWORD);
  await ada.page.getByRole("button", { name: "Log in", exact: true }).click();
  await ada.page.locator("#auth-error").filter({ hasText: "Wrong username or password." }).waitFor();
  await ada.page.getByLabel("Password").fill(NEW_PASSWORD);
  await ada.page.getByRole("button", { name: "Log in", exact: true }).click();
  await ada.page.locator("#guild-name").filter({ hasText: "Study Hall" }).waitFor();
  await ada.page.locator("#channel-title").filter({ hasText: "# general" }).waitFor();
});

test("usersettings: appearance: the light theme changes the background and survives a reload; compact mode hides avatars; the font size sets the root's", async () => {
  const { ada } = people;
  const background = () => ada.page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  const rootSize = () => ada.page.evaluate(() => getComputedStyle(document.documentElement).fontSize);
  assert.equal(await background(), "rgb(30, 31, 34)");
  await openSection(ada, "Appearance");
  await settings(ada).getByRole("radio", { name: "Light" }).check();
  assert.equal(await background(), "rgb(255, 255, 255)");
  await ada.page.reload();
  // Set before the app renders: already light when the page has loaded.
  await ada.page.locator("#me-name").waitFor({ state: "attached" });
  assert.equal(await ada.page.evaluate(() => document.documentElement.dataset.theme), "light");
  assert.equal(await background(), "rgb(255, 255, 255)");

  await ada.page.locator("#message-list .message", { hasText: "Still here after the change" }).waitFor();
  const avatarShown = () => ada.page.locator("#message-list .message:not(.continuation) .avatar").first().isVisible();
  assert.equal(await avatarShown(), true);
  await openSection(ada, "Appearance");
  await settings(ada).getByRole("switch", { name: "Compact mode" }).check();
  assert.equal(await avatarShown(), false);

  assert.equal(await rootSize(), "15px");
  const slider = settings(ada).getByRole("slider", { name: "Font size" });
  await slider.focus();
  for (let i = 0; i < 3; i += 1) await ada.page.keyboard.press("ArrowRight");
  assert.equal(await rootSize(), "18px");
  assert.equal(await slider.getAttribute("aria-valuetext"), "18 pixels");
  await closeSettings(ada);
  await ada.page.screenshot({ path: join(artifacts, "usersettings-light-compact.png") });
  await ada.page.reload();
  await ada.page.locator("#me-name").waitFor({ state: "attached" });
  assert.equal(await rootSize(), "18px");
  assert.equal(await avatarShown(), false);
});

test("usersettings: no serious accessibility violation in the settings and the chat, in the light theme and the dark", async () => {
  const { ada } = people;
  // A context of ada's that axe can run in (it bypasses the CSP), signed in with her token.
  const token = await ada.page.evaluate(() => localStorage.getItem("hearth.token"));
  const audit = await person("audit", { bypassCSP: true });
  people.audit = audit;
  await audit.page.goto(server.url);
  await audit.page.evaluate((t) => { localStorage.setItem("hearth.token", t); localStorage.setItem("hearth.appearance", JSON.stringify({ theme: "light" })); }, token);
  await audit.page.reload();
  await audit.page.locator("#message-list .message", { hasText: "Still here after the change" }).waitFor();
  const found = [];
  for (const theme of ["light", "dark"]) {
    await audit.page.evaluate((th) => { localStorage.setItem("hearth.appearance", JSON.stringify({ theme: th })); }, theme);
    await audit.page.reload();
    await audit.page.locator("#message-list .message", { hasText: "Still here after the change" }).waitFor();
    found.push(...await seriousViolations(audit, `${theme}-chat`));
    for (const section of ["My account", "Profile", "Appearance", "Voice & video", "Notifications", "Blocked users"]) {
      await openSection(audit, section);
      found.push(...await seriousViolations(audit, `${theme}-${section.replace(/\W+/g, "-").toLowerCase()}`));
    }
    await closeSettings(audit);
  }
  assert.deepEqual(found, []);
});

test("usersettings: in a call, the level meter moves with the microphone and ada's own tile rings", async () => {
  const { ada, bob } = people;
  for (const p of [ada, bob]) {
    await p.page.getByRole("button", { name: "voice channel General" }).click();
    await p.page.locator("#voice-status").filter({ hasText: "Voice connected" }).waitFor();
  }
  await ada.page.locator(`#tiles .tile[data-user="${ids.bob}"]`).waitFor();
  // The fake microphone beeps: her own tile rings from her own level.
  await ada.page.locator(`#tiles .tile[data-user="${ids.ada}"][data-spoke="true"]`).waitFor({ timeout: 30000 });
  await openSection(ada, "Voice & video");
  const meter = settings(ada).getByRole("meter", { name: "Input level" });
  await meter.waitFor();
  await until("the level meter to move", async () => Number(await meter.getAttribute("aria-valuenow")) > 0);
  // Input volume at 0: the meter falls silent (the gain is before it, as before what is sent).
  const volume = settings(ada).getByRole("slider", { name: "Input volume" });
  await volume.focus();
  await ada.page.keyboard.press("Home");
  await until("the meter at 0 with the input volume at 0", async () => Number(await meter.getAttribute("aria-valuenow")) === 0);
  await ada.page.keyboard.press("End");
  assert.equal(await volume.getAttribute("aria-valuetext"), "200%");
  for (let i = 0; i < 20; i += 1) await ada.page.keyboard.press("ArrowLeft");
  assert.equal(await volume.getAttribute("aria-valuetext"), "100%");
  await until("the meter moving again", async () => Number(await meter.getAttribute("aria-valuenow")) > 0);
  await ada.page.screenshot({ path: join(artifacts, "usersettings-voice.png") });
  await closeSettings(ada);
});

test("usersettings: push to talk: bob hears nothing from ada until she holds the key, and typing the key does not open it", async () => {
  const { ada, bob } = people;
  const energy = async () => ((await stats(bob))[ids.ada] || {}).audio?.totalAudioEnergy ?? 0;
  // Quiet: what bob has heard of ada stops growing.
  const quiet = (what) => until(what, async () => {
    const a = await energy();
    await sleep(1500);
    return (await energy()) - a < 1e-6;
  }, 30000);
  await until("bob hearing ada", async () => {
    const a = await energy();
    await sleep(1000);
    return (await energy()) > a;
  }, 30000);

  await openSection(ada, "Voice & video");
  await settings(ada).getByRole("radio", { name: "Push to talk" }).check();
  const key = settings(ada).getByRole("button", { name: /Push-to-talk key/ });
  await key.click();
  await key.filter({ hasText: "Press a key" }).waitFor();
  await ada.page.keyboard.press("KeyT");
  await settings(ada).getByRole("button", { name: "Push-to-talk key: T. Change it" }).waitFor();
  await closeSettings(ada);
  const panel = ada.page.locator("#voice-ptt");
  await panel.filter({ hasText: "Push to talk: hold T" }).waitFor();

  await quiet("ada's audio to fall silent for bob with push to talk on");
  const before = await energy();
  // Typed into the composer, the key is a letter, not push to talk.
  await ada.page.getByRole("button", { name: /text channel general/ }).click();
  const input = ada.page.getByLabel("Message", { exact: true });
  await input.focus();
  await ada.page.keyboard.down("t");
  assert.equal(await panel.textContent(), "Push to talk: hold T");
  await ada.page.keyboard.up("t");
  assert.equal(await input.inputValue(), "t");
  await input.fill("");

  // Held (the focus out of any field), bob hears her.
  await ada.page.locator("#user-settings").focus();
  await ada.page.keyboard.down("t");
  await panel.filter({ hasText: "Push to talk: talking" }).waitFor();
  await until("bob hearing ada while she holds the key", async () => (await energy()) > before + 1e-6, 30000);
  await ada.page.keyboard.up("t");
  await panel.filter({ hasText: "Push to talk: hold T" }).waitFor();
  await quiet("ada silent again once she lets go");

  // Back to voice activity: heard without a key.
  await openSection(ada, "Voice & video");
  await settings(ada).getByRole("radio", { name: "Voice activity" }).check();
  await closeSettings(ada);
  await panel.waitFor({ state: "hidden" });
  const after = await energy();
  await until("bob hearing ada with voice activity", async () => (await energy()) > after + 1e-6, 30000);
});

test("usersettings: bob turns ada down on her tile; her audio element plays at that volume; deafened, her video stays on his screen", async () => {
  const { ada, bob } = people;
  await bob.page.getByRole("button", { name: "voice channel General" }).click();
  const slider = bob.page.getByRole("slider", { name: "Volume of Ada Lovelace" });
  await slider.focus();
  await bob.page.keyboard.press("Home");
  for (let i = 0; i < 10; i += 1) await bob.page.keyboard.press("ArrowRight");
  assert.equal(await slider.getAttribute("aria-valuetext"), "50%");
  assert.equal(await bob.page.locator(`audio[data-user="${ids.ada}"]`).evaluate((el) => el.volume), 0.5);
  // Kept for her: a new audio element (a rejoin) plays at the same volume.
  await bob.page.locator("#voice-leave").click();
  await bob.page.getByRole("button", { name: "Join voice" }).click();
  await bob.page.locator("#voice-status").filter({ hasText: "Voice connected" }).waitFor();
  await until("ada's audio element back at 50%", () => bob.page.locator(`audio[data-user="${ids.ada}"]`).evaluate((el) => el.volume === 0.5));

  // Deafened, the client mutes the others' audio and keeps their video on screen.
  await ada.page.getByRole("button", { name: "Camera" }).click();
  await bob.page.locator(`#tiles .tile[data-user="${ids.ada}"][data-video="true"]`).waitFor();
  await bob.page.getByRole("button", { name: "Deafen", exact: true }).click();
  assert.equal(await bob.page.locator(`audio[data-user="${ids.ada}"]`).evaluate((el) => el.muted), true);
  // The server forwards video to the deafened (audio it holds back): her camera keeps playing.
  const frames = async () => ((await stats(bob))[ids.ada] || {}).video?.framesDecoded ?? 0;
  const deafFrames = await frames();
  await until("ada's video still decoded while bob is deafened", async () => (await frames()) > deafFrames);
  await bob.page.locator(`#tiles .tile[data-user="${ids.ada}"][data-video="true"]`).waitFor();
  assert.equal(await bob.page.locator(`#tiles .tile[data-user="${ids.ada}"] video`).isVisible(), true);
  await bob.page.getByRole("button", { name: "Deafen", exact: true }).click();
  await ada.page.getByRole("button", { name: "Camera" }).click();
  for (const p of [ada, bob]) await p.page.locator("#voice-leave").click();
});

test("usersettings: Log out everywhere ends ada's other session too", async () => {
  const { ada, bob, audit } = people;
  await openSection(ada, "My account");
  await settings(ada).getByRole("button", { name: "Log out everywhere" }).click();
  await ada.page.locator("#dialog").getByRole("button", { name: "Log out everywhere" }).click();
  await ada.page.getByRole("button", { name: "Log in", exact: true }).waitFor();
  assert.equal(await ada.page.evaluate(() => localStorage.getItem("hearth.token")), null);
  // She asked for it: no "session has ended" alarm here.
  assert.equal(await ada.page.getByRole("alert").filter({ hasText: "Your session has ended" }).count(), 0);
  // Her other browser is logged out as well, and told so; bob sees her offline.
  await audit.page.getByRole("button", { name: "Log in", exact: true }).waitFor();
  await audit.page.getByRole("alert").filter({ hasText: "Your session has ended. Please log in again." }).waitFor();
  await bob.page.locator(`#member-list .member[data-user="${ids.ada}"][data-status="offline"]`).waitFor();
});

test("usersettings: nothing failed in the page and nothing was fetched from elsewhere", () => {
  assert.deepEqual(pageErrors, []);
  for (const p of Object.values(people)) assert.deepEqual(p.foreign, [], `${p.name} fetched from outside the server`);
});
