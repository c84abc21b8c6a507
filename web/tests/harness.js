// What the browser tests share: a real `hearth serve` on a fresh data
// directory, Debian's Chromium with fake media devices, and bounded waits.

import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createConnection, createServer } from "node:net";
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
 * `dataDir` restart one that was stopped with `keepData`; a `dataDir` of
 * another running node makes a second node of its cluster (with the same
 * `--redis` and `--redis-prefix` in `extraArgs`).
 */
export function startServer(extraArgs = [], { listen = "127.0.0.1:0", dataDir = mkdtempSync(join(tmpdir(), "hearth-web-")) } = {}) {
  const bin = process.env.HEARTH_BIN || join(targetDir, "debug", "hearth");
  const proc = spawn(bin, [
    "serve", "--listen", listen, "--data-dir", dataDir, "--durability", "normal", ...extraArgs,
  ], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, HEARTH_LOG: process.env.HEARTH_LOG || "warn" } });
  const log = [];
  proc.stderr.on("data", (b) => log.push(b.toString()));
  // A process ended by a signal keeps `exitCode` null.
  const running = () => proc.exitCode === null && proc.signalCode === null;
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
        /** Kills the process at once (SIGKILL), as a crashed node; resolves once it is gone. */
        async kill9() {
          if (!running()) return;
          const gone = new Promise((r) => proc.once("exit", r));
          proc.kill("SIGKILL");
          await Promise.race([gone, new Promise((_, r) => setTimeout(() => r(new Error("hearth survived SIGKILL for 5 s")), 5000))]);
        },
        async stop({ keepData = false } = {}) {
          if (running()) {
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

/**
 * The Redis server of HEARTH_TEST_REDIS, as a URL the nodes started here
 * can reach. Fails when it is not set: the cluster test is never skipped.
 * Under run.sh the tests run in a network namespace that reaches it only
 * through the Unix socket of redis-relay.js (HEARTH_TEST_REDIS_SOCKET):
 * then a port on this namespace's loopback is relayed to that socket.
 * Resolves to { url, close }.
 */
export async function clusterRedis() {
  const given = process.env.HEARTH_TEST_REDIS;
  if (!given) throw new Error("HEARTH_TEST_REDIS is not set: the cluster test needs a Redis server (scripts/test.sh exports it)");
  const socketPath = process.env.HEARTH_TEST_REDIS_SOCKET;
  if (!socketPath) return { url: given, close: async () => {} };
  const conns = new Set();
  const relay = createServer((inner) => {
    const outer = createConnection(socketPath);
    conns.add(inner).add(outer);
    inner.pipe(outer);
    outer.pipe(inner);
    for (const [a, b] of [[inner, outer], [outer, inner]]) {
      a.on("error", () => b.destroy());
      a.on("close", () => { b.destroy(); conns.delete(a); });
    }
  });
  await new Promise((r, j) => relay.once("error", j).listen(0, "127.0.0.1", r));
  const url = new URL(given);
  url.hostname = "127.0.0.1";
  url.port = String(relay.address().port);
  return {
    url: url.toString(),
    async close() {
      for (const c of conns) c.destroy();
      await new Promise((r) => relay.close(r));
    },
  };
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
