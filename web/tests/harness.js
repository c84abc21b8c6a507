// What the browser tests share: a real `hearth serve` on a fresh data
// directory, Debian's Chromium with fake media devices, and bounded waits.

import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const targetDir = resolve(repo, process.env.CARGO_TARGET_DIR || "target");

export const artifacts = process.env.HEARTH_BROWSER_ARTIFACTS || join(targetDir, "browser-artifacts");
mkdirSync(artifacts, { recursive: true });

/**
 * Starts the server; resolves once it prints its address. `listen` and
 * `dataDir` restart one that was stopped with `keepData`.
 */
export function startServer(extraArgs = [], { listen = "127.0.0.1:0", dataDir = mkdtempSync(join(tmpdir(), "hearth-web-")) } = {}) {
  const bin = process.env.HEARTH_BIN || join(targetDir, "debug", "hearth");
  const proc = spawn(bin, [
    "serve", "--listen", listen, "--data-dir", dataDir, "--durability", "normal", ...extraArgs,
  ], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, HEARTH_LOG: process.env.HEARTH_LOG || "warn" } });
  const log = [];
  proc.stderr.on("data", (b) => log.push(b.toString()));
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => { proc.kill("SIGKILL"); reject(new Error(`hearth did not start within 30 s:\n${log.join("")}`)); }, 30000);
    let out = "";
    proc.stdout.on("data", (b) => {
      out += b.toString();
      const m = out.match(/hearth listening on (http:\/\/\S+)/);
      if (!m) return;
      clearTimeout(timer);
      resolvePromise({
        url: m[1],
        dataDir,
        log,
        async stop({ keepData = false } = {}) {
          if (proc.exitCode === null) {
            proc.kill("SIGTERM");
            await Promise.race([
              new Promise((r) => proc.once("exit", r)),
              new Promise((r) => setTimeout(() => { proc.kill("SIGKILL"); r(); }, 5000)),
            ]);
          }
          if (!keepData) rmSync(dataDir, { recursive: true, force: true });
        },
      });
    });
    proc.once("exit", (code) => { clearTimeout(timer); reject(new Error(`hearth exited (${code}) before listening:\n${log.join("")}`)); });
  });
}

/** Debian's Chromium, headless, with a fake camera and microphone granted. */
export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    timeout: 60000,
    args: [
      "--no-sandbox", "--disable-gpu",
      "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
      "--allow-loopback-in-peer-connection", "--autoplay-policy=no-user-gesture-required",
      "--disable-background-networking", "--no-first-run", "--disable-component-update", "--disable-sync",
    ],
  });
}

/** Polls `fn` until it returns a truthy value; fails with `what` after `ms`. */
export async function until(what, fn, ms = 20000) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${ms} ms waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
