// Carries connections from a Unix socket to the Redis server a URL names.
//
// run.sh runs the browser tests in a network namespace of their own, where
// 127.0.0.1 is not the machine's: a Redis server outside it cannot be
// reached over TCP. A Unix socket is a file, and files are shared: this
// relay runs outside the namespace, and harness.js's `clusterRedis` relays
// a TCP port inside it to the socket.
//
//   node redis-relay.js <socket path> <redis URL>

import { createConnection, createServer } from "node:net";
import { rmSync } from "node:fs";

const [socketPath, redisUrl] = process.argv.slice(2);
if (!socketPath || !redisUrl) {
  console.error("usage: node redis-relay.js <socket path> <redis URL>");
  process.exit(2);
}
const target = new URL(redisUrl);
const host = target.hostname.replace(/^\[|\]$/g, "");
const port = Number(target.port || 6379);

rmSync(socketPath, { force: true });
const server = createServer((inner) => {
  const outer = createConnection({ host, port });
  inner.pipe(outer);
  outer.pipe(inner);
  inner.on("error", () => outer.destroy());
  outer.on("error", () => inner.destroy());
  inner.on("close", () => outer.destroy());
  outer.on("close", () => inner.destroy());
});
server.listen(socketPath, () => console.log(`relaying ${socketPath} to ${host}:${port}`));
for (const sig of ["SIGTERM", "SIGINT"]) {
  process.on(sig, () => { rmSync(socketPath, { force: true }); process.exit(0); });
}
