// Rich text in the web client, between two people in two browser contexts
// of a real Chromium against a real server: markdown rendered (and hostile
// text kept as text), mentions, channels and emoji from the composer's
// suggestions, the emoji picker (also for reactions), the length counter,
// message groups and dates, and a reply's quote jumping to its original.

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test as nodeTest } from "node:test";
import { artifacts, launchBrowser, startServer, until } from "./harness.js";

// The steps build on each other: after a failure, the rest are skipped.
let broken = null;
function test(name, fn) {
  nodeTest(`richtext: ${name}`, async (t) => {
    if (broken) { t.skip(`after "${broken}" failed`); return; }
    try {
      await fn(t);
    } catch (err) {
      broken = name;
      for (const p of Object.values(people)) {
        await p.page.screenshot({ path: join(artifacts, `failed-richtext-${p.name}.png`) }).catch(() => {});
      }
      writeFileSync(join(artifacts, "failed-richtext-server.log"), server ? server.log.join("") : "");
      writeFileSync(join(artifacts, "failed-richtext-page-errors.json"), JSON.stringify(pageErrors, null, 2));
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
    if (!url.startsWith(server.url) && !url.startsWith(server.url.replace("http:", "ws:"))) foreign.push(url);
  });
  // A dialog (window.alert from a hostile message) would be a failure.
  page.on("dialog", (d) => { pageErrors.push(`${name} dialog: ${d.message()}`); d.dismiss().catch(() => {}); });
  return { name, context, page, foreign, username: `${name}_${Date.now() % 100000}` };
}

before(async () => {
  // No REST rate limits: the history for the reply's jump is posted fast.
  server = await startServer(["--rate-limits", "off"]);
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

const composer = (p) => p.page.getByLabel("Message", { exact: true });
const token = (p) => p.page.evaluate(() => localStorage.getItem("hearth.token"));
const myId = (p) => p.page.evaluate(() => window.hearthDebug.me().id);

/** A REST call as `p`. */
async function rest(p, method, path, body) {
  const res = await fetch(`${server.url}/api/v10${path}`, {
    method, headers: { Authorization: await token(p), "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${await res.clone().text()}`);
  return res.status === 204 ? null : res.json();
}

async function send(p, text) {
  await composer(p).fill(text);
  await composer(p).press("Enter");
}

/** `p`'s view of the message holding `text` (not a reply quoting it). */
const message = (p, text) => p.page.locator("#message-list .message").filter({ has: p.page.locator(".content", { hasText: text }) });

let guildId;
let channelId;

test("ada makes a server and bob joins it by an invite", async () => {
  const { ada, bob } = people;
  for (const p of [ada, bob]) await register(p);
  await ada.page.getByRole("button", { name: "Create a server" }).click();
  await ada.page.getByLabel("Server name").fill("Markdown Club");
  await ada.page.getByRole("button", { name: "Create", exact: true }).click();
  await ada.page.locator("#channel-title").filter({ hasText: "# general" }).waitFor();
  await ada.page.getByRole("button", { name: "Invite people" }).click();
  const link = await ada.page.getByLabel("Invite link").inputValue();
  await ada.page.getByRole("button", { name: "Done" }).click();
  await bob.page.goto(link);
  await bob.page.getByRole("button", { name: "Join", exact: true }).click();
  await bob.page.locator("#channel-title").filter({ hasText: "# general" }).waitFor();
  channelId = await ada.page.locator("#message-list").getAttribute("data-channel");
  guildId = (await rest(ada, "GET", `/channels/${channelId}`)).guild_id;
  await ada.page.locator("#member-list .member", { hasText: bob.username }).waitFor();
});

test("markdown ada types shows formatted for bob; a spoiler stays hidden until clicked", async () => {
  const { ada, bob } = people;
  await send(ada, [
    "**bold words** and *slanted* and __under__ ~~gone~~ `tick` ||secret plans||",
    "```js",
    "const answer = 42; // **not bold** in code",
    "```",
    "> quoted wisdom",
    "# Big title",
    "- item one",
    "- item two",
    "[the docs](https://example.com/docs) at <t:1700000000:D>",
  ].join("\n"));
  const msg = message(bob, "bold words");
  await msg.waitFor();
  assert.equal(await msg.locator("strong").first().textContent(), "bold words");
  assert.equal(await msg.locator("em").first().textContent(), "slanted");
  assert.equal(await msg.locator("u").textContent(), "under");
  assert.equal(await msg.locator("s").textContent(), "gone");
  assert.equal(await msg.locator("code.inline-code").textContent(), "tick");
  // The code block: its language as a label, its text untouched.
  const block = msg.locator(".code-block");
  assert.equal(await block.locator(".code-lang").textContent(), "js");
  assert.equal(await block.locator("code").textContent(), "const answer = 42; // **not bold** in code");
  assert.equal(await block.locator("strong").count(), 0);
  assert.equal(await msg.locator("blockquote").textContent(), "quoted wisdom");
  await msg.getByRole("heading", { name: "Big title", level: 1 }).waitFor();
  assert.deepEqual(await msg.locator(".content li").allTextContents(), ["item one", "item two"]);
  // The masked link: its text shown, the real URL in its title, a new tab.
  const docs = msg.getByRole("link", { name: "the docs" });
  assert.equal(await docs.getAttribute("href"), "https://example.com/docs");
  assert.equal(await docs.getAttribute("title"), "https://example.com/docs");
  assert.equal(await docs.getAttribute("target"), "_blank");
  assert.equal(await docs.getAttribute("rel"), "noopener noreferrer");
  // The timestamp, as a long date, the whole of it in the title.
  const when = msg.locator("time.timestamp");
  assert.match(await when.textContent(), /2023/);
  assert.match(await when.getAttribute("title"), /2023/);
  // The spoiler: a button named as hidden, its words not shown until clicked.
  const spoiler = msg.getByRole("button", { name: "Spoiler, hidden" });
  const words = msg.locator(".spoiler-content");
  assert.equal(await words.evaluate((el) => getComputedStyle(el).color), "rgba(0, 0, 0, 0)");
  assert.equal(await msg.getByText("secret plans").isVisible(), true, "present, just not readable");
  await ada.page.screenshot({ path: join(artifacts, "richtext-ada.png") });
  await spoiler.click();
  assert.equal(await msg.getByRole("button", { name: "Spoiler, hidden" }).count(), 0);
  assert.notEqual(await words.evaluate((el) => getComputedStyle(el).color), "rgba(0, 0, 0, 0)");
  // Ada's own copy: revealed with the keyboard.
  const own = message(ada, "bold words").getByRole("button", { name: "Spoiler, hidden" });
  await own.focus();
  await own.press("Enter");
  await message(ada, "bold words").locator(".spoiler.revealed").waitFor();
  await bob.page.screenshot({ path: join(artifacts, "richtext-bob.png") });
});

test("hostile text stays text: no element, no script, no javascript: link", async () => {
  const { ada, bob } = people;
  await send(ada, `hostile <img src=x onerror="window.pwned=1"> [click me](javascript:alert(1)) <b>tag</b> ${"*".repeat(300)}${"_".repeat(300)}`);
  const msg = message(bob, "hostile");
  await msg.waitFor();
  assert.match(await msg.locator(".content").textContent(), /<img src=x onerror="window.pwned=1"> \[click me\]\(javascript:alert\(1\)\) <b>tag<\/b>/);
  assert.equal(await msg.locator(".content img, .content b").count(), 0);
  assert.equal(await msg.getByRole("link").count(), 0);
  assert.equal(await bob.page.evaluate(() => window.pwned), undefined);
});

test("@bo suggests bob; picked, the message mentions him and his client highlights it", async () => {
  const { ada, bob } = people;
  await composer(ada).pressSequentially("over to @bo", { delay: 15 });
  const list = ada.page.getByRole("listbox", { name: "Suggestions" });
  const option = list.getByRole("option", { name: bob.username });
  await option.waitFor();
  assert.equal(await option.getAttribute("aria-selected"), "true");
  assert.equal(await composer(ada).getAttribute("aria-activedescendant"), await option.getAttribute("id"));
  await ada.page.screenshot({ path: join(artifacts, "richtext-autocomplete.png") });
  await composer(ada).press("Enter");
  await list.waitFor({ state: "hidden" });
  // The composer reads as a name; the mention goes out on send.
  assert.equal(await composer(ada).inputValue(), `over to @${bob.username} `);
  await composer(ada).pressSequentially("for the review", { delay: 5 });
  await composer(ada).press("Enter");
  const msg = message(bob, "for the review");
  await msg.locator(".mention", { hasText: `@${bob.username}` }).waitFor();
  assert.match(await msg.getAttribute("class"), /mentioned/);
  const stored = await rest(bob, "GET", `/channels/${channelId}/messages?limit=1`);
  assert.equal(stored[0].content, `over to <@${await myId(bob)}> for the review`);
});

test("# suggests a channel; the message links it, and the link opens it", async () => {
  const { ada, bob } = people;
  await rest(ada, "POST", `/guilds/${guildId}/channels`, { name: "release-notes", type: 0 });
  await composer(ada).pressSequentially("details in #rele", { delay: 15 });
  const option = ada.page.getByRole("listbox", { name: "Suggestions" }).getByRole("option", { name: "#release-notes" });
  await option.waitFor();
  await composer(ada).press("Tab");
  assert.equal(await composer(ada).inputValue(), "details in #release-notes ");
  await composer(ada).press("Enter");
  const linkTo = message(bob, "details in").getByRole("link", { name: "#release-notes" });
  await linkTo.click();
  await bob.page.locator("#channel-title").filter({ hasText: "# release-notes" }).waitFor();
  // Back to #general for the steps that follow.
  await bob.page.getByRole("button", { name: /text channel general/ }).click();
  await bob.page.locator("#channel-title").filter({ hasText: "# general" }).waitFor();
});

test(":thumbs suggests 👍, and Enter puts it in", async () => {
  const { ada } = people;
  await composer(ada).fill("");
  await composer(ada).pressSequentially("nice :thumbs", { delay: 15 });
  const first = ada.page.getByRole("listbox", { name: "Suggestions" }).getByRole("option").first();
  await first.waitFor();
  assert.match(await first.getAttribute("aria-label"), /^👍/);
  await composer(ada).press("Enter");
  assert.equal(await composer(ada).inputValue(), "nice 👍 ");
  // One character is not enough to ask.
  await composer(ada).fill("");
  await composer(ada).pressSequentially("a :t", { delay: 15 });
  assert.equal(await ada.page.getByRole("listbox", { name: "Suggestions" }).isVisible(), false);
  await composer(ada).fill("");
});

test("the emoji picker is used with the keyboard; React → More… reacts for the other side too", async () => {
  const { ada, bob } = people;
  await composer(ada).fill("party ");
  await ada.page.getByRole("button", { name: "Emoji", exact: true }).click();
  const picker = ada.page.getByRole("dialog", { name: "Emoji picker" });
  const search = picker.getByRole("combobox", { name: "Search emoji" });
  await until("the search box focused", () => search.evaluate((el) => el === document.activeElement));
  await search.pressSequentially("tada", { delay: 15 });
  await picker.getByRole("option", { name: "party popper", selected: true }).waitFor();
  // Right and back left: the same one is active again.
  await search.press("ArrowRight");
  await search.press("ArrowLeft");
  await picker.getByRole("option", { name: "party popper", selected: true }).waitFor();
  await ada.page.screenshot({ path: join(artifacts, "richtext-emoji-picker.png") });
  await search.press("Enter");
  await picker.waitFor({ state: "detached" });
  assert.equal(await composer(ada).inputValue(), "party 🎉");
  assert.equal(await composer(ada).evaluate((el) => el === document.activeElement), true);
  // Down moves a row: from the first of the grid, the ninth.
  await ada.page.getByRole("button", { name: "Emoji", exact: true }).click();
  await search.press("ArrowDown");
  assert.equal(await picker.getByRole("option", { selected: true }).getAttribute("id"), "emoji-opt-8");
  // Escape closes it and gives the focus back to the button.
  await search.press("Escape");
  await picker.waitFor({ state: "detached" });
  assert.equal(await ada.page.getByRole("button", { name: "Emoji", exact: true }).evaluate((el) => el === document.activeElement), true);
  await composer(ada).press("Enter");
  await message(bob, "party 🎉").waitFor();

  // Bob reacts to it with an emoji not among the six.
  const msg = message(bob, "party 🎉");
  await msg.hover();
  await msg.getByRole("button", { name: "Add a reaction" }).click();
  await bob.page.getByRole("menuitem", { name: "More emoji" }).click();
  const react = bob.page.getByRole("dialog", { name: "Add a reaction" });
  await react.getByRole("combobox", { name: "Search emoji" }).pressSequentially("rocket", { delay: 15 });
  await react.getByRole("option", { name: "rocket", selected: true }).waitFor();
  await react.getByRole("combobox", { name: "Search emoji" }).press("Enter");
  await msg.getByRole("button", { name: "🚀 1", pressed: true }).waitFor();
  await message(ada, "party 🎉").getByRole("button", { name: "🚀 1", pressed: false }).waitFor();
});

test("past 1,800 characters a counter shows; 2,001 are refused and kept", async () => {
  const { ada, bob } = people;
  const count = ada.page.locator("#char-count");
  await composer(ada).fill("y".repeat(1700));
  assert.equal(await count.isVisible(), false);
  await composer(ada).fill("y".repeat(1990));
  await count.filter({ hasText: "10 left" }).waitFor();
  const long = "z".repeat(2001);
  await composer(ada).fill(long);
  await count.filter({ hasText: "-1 left" }).waitFor();
  assert.match(await count.getAttribute("class"), /over/);
  assert.equal(await count.evaluate((el) => getComputedStyle(el).color), "rgb(245, 127, 130)");
  await composer(ada).press("Enter");
  await ada.page.getByRole("alert").filter({ hasText: "too long" }).waitFor();
  assert.equal(await composer(ada).inputValue(), long, "the text is kept");
  assert.equal(await ada.page.locator("#message-list .message.pending").count(), 0, "nothing is sending");
  // Shortened to 2,000 it goes; the counter goes with it.
  await composer(ada).press("Backspace");
  await composer(ada).press("Enter");
  await message(bob, "z".repeat(2000)).waitFor();
  assert.equal(await count.isVisible(), false);
  const stored = await rest(ada, "GET", `/channels/${channelId}/messages?limit=1`);
  assert.equal(stored[0].content.length, 2000);
  assert.equal(await ada.page.getByRole("alert").filter({ hasText: "too long" }).count(), 0, "the notice went once it was sent");
});

test("three quick messages by one author show one header; the day has its separator; times have their full date", async () => {
  const { ada, bob } = people;
  // The pointer away from the messages: hovering is part of the test.
  await bob.page.mouse.move(0, 0);
  await send(bob, "a word from bob first");
  await message(ada, "a word from bob first").waitFor();
  for (const text of ["group one", "group two", "group three"]) await send(ada, text);
  await message(bob, "group three").waitFor();
  const rows = ["group one", "group two", "group three"].map((t) => message(bob, t));
  // One header (avatar and name), on the first; the others are continuations.
  assert.equal(await rows[0].locator(".author").count(), 1);
  assert.equal(await rows[0].locator(".avatar").count(), 1);
  for (const row of rows.slice(1)) {
    assert.equal(await row.locator(".author").count(), 0);
    assert.equal(await row.locator(".avatar").count(), 0);
    assert.match(await row.getAttribute("class"), /continuation/);
  }
  // A continuation's time shows on hover, and says the whole date in its title.
  const time = rows[2].locator("time");
  assert.equal(await time.evaluate((el) => getComputedStyle(el).opacity), "0");
  await rows[2].hover();
  await until("the time shown on hover", async () => (await time.evaluate((el) => getComputedStyle(el).opacity)) === "1");
  const full = await time.getAttribute("title");
  assert.match(full, /\d{4}/);
  assert.ok(await time.getAttribute("datetime"));
  // Bob's own message, before: a header of its own.
  assert.equal(await message(bob, "a word from bob first").locator(".author").count(), 1);
  // The history's first day is headed by its date, a separator named by it.
  const today = await bob.page.evaluate(() => new Date().toLocaleDateString(undefined, { month: "long", day: "numeric", year: "numeric" }));
  assert.match(today, /^[A-Z][a-z]+ \d{1,2}, \d{4}$/);
  await bob.page.getByRole("separator", { name: today }).waitFor();
  // Every message's time has its full date as a title.
  const untitled = await bob.page.locator("#message-list .message:not(.pending) time.time").evaluateAll((ts) => ts.filter((t) => !t.title).length);
  assert.equal(untitled, 0);
  await bob.page.screenshot({ path: join(artifacts, "richtext-groups.png") });
});

test("clicking a reply's quote jumps to the original, far back in the history, and highlights it", async () => {
  const { ada, bob } = people;
  await send(ada, "the original question");
  const original = await until("the original stored", async () => {
    const page = await rest(ada, "GET", `/channels/${channelId}/messages?limit=1`);
    return page[0] && page[0].content === "the original question" ? page[0] : null;
  });
  // Sixty messages after it: more than the page a channel opens with.
  for (let i = 1; i <= 60; i++) await rest(bob, "POST", `/channels/${channelId}/messages`, { content: `filler ${i}` });
  await rest(bob, "POST", `/channels/${channelId}/messages`, { content: "the reply", message_reference: { message_id: original.id } });
  await ada.page.reload();
  const reply = message(ada, "the reply");
  await reply.waitFor();
  assert.equal(await message(ada, "the original question").count(), 0, "not loaded yet");
  const quote = reply.getByRole("button", { name: /the original question/ });
  // With the keyboard: Enter on the quote.
  await quote.focus();
  await quote.press("Enter");
  const target = message(ada, "the original question");
  await target.waitFor();
  await until("the original highlighted", async () => /flash/.test(await target.getAttribute("class")));
  assert.equal(await target.isVisible(), true);
  const inView = await target.evaluate((el) => {
    const r = el.getBoundingClientRect();
    const box = document.getElementById("messages").getBoundingClientRect();
    return r.top >= box.top && r.bottom <= box.bottom;
  });
  assert.equal(inView, true, "scrolled into view");
  // And with a click, from the same reply once the view is back at the bottom.
  await ada.page.locator("#messages").evaluate((el) => { el.scrollTop = el.scrollHeight; });
  await until("the flash gone", async () => !/flash/.test(await target.getAttribute("class")));
  await quote.click();
  await until("highlighted again", async () => /flash/.test(await target.getAttribute("class")));
});

test("nothing failed in the page and nothing was fetched from elsewhere", () => {
  assert.deepEqual(pageErrors, []);
  for (const p of Object.values(people)) assert.deepEqual(p.foreign, [], `${p.name} fetched from outside the server`);
});
