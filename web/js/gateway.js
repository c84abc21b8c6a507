// The main gateway (docs/protocol.md §6): one WebSocket with heartbeats,
// Identify, and Resume after a drop, so no dispatch is lost while the
// network blinks.

import { INTENT } from "./wire.js";

const OP = { DISPATCH: 0, HEARTBEAT: 1, IDENTIFY: 2, PRESENCE: 3, VOICE_STATE: 4, RESUME: 6, RECONNECT: 7, REQUEST_MEMBERS: 8, INVALID_SESSION: 9, HELLO: 10, HEARTBEAT_ACK: 11 };

// Everything a person's client shows. Bans and invites are sent only to
// those who may see them (moderators, channel managers).
const INTENTS = INTENT.GUILDS | INTENT.GUILD_MEMBERS | INTENT.GUILD_MODERATION | INTENT.GUILD_INVITES
  | INTENT.GUILD_VOICE_STATES | INTENT.GUILD_PRESENCES | INTENT.GUILD_MESSAGES | INTENT.GUILD_MESSAGE_REACTIONS
  | INTENT.GUILD_MESSAGE_TYPING | INTENT.DIRECT_MESSAGES | INTENT.DIRECT_MESSAGE_REACTIONS
  | INTENT.DIRECT_MESSAGE_TYPING | INTENT.MESSAGE_CONTENT;

// Closes after which retrying cannot help: the token or the request is bad.
const FATAL = new Set([4004, 4010, 4011, 4012, 4013, 4014]);

export class Gateway {
  /**
   * `onDispatch(t, d)` gets every dispatch; `onState(state, detail)` gets
   * "connecting", "ready", "resumed", "reconnecting" and "failed".
   */
  constructor({ token, status, activities = [], onDispatch, onState }) {
    this.token = token;
    this.status = status;
    /** The presence's activities (a custom status), sent with every Identify and op 3. */
    this.activities = activities;
    this.onDispatch = onDispatch;
    this.onState = onState;
    this.ws = null;
    this.seq = null;
    this.sessionId = null;
    this.heartbeat = null;
    this.acked = true;
    this.attempt = 0;
    this.retryTimer = null;
    this.stopped = false;
    this.connected = false;
    this.onOnline = () => { if (!this.connected) this.reconnectNow(); };
    window.addEventListener("online", this.onOnline);
  }

  url() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${location.host}/gateway?v=10&encoding=json`;
  }

  connect() {
    if (this.stopped) return;
    clearTimeout(this.retryTimer);
    this.onState(this.sessionId ? "reconnecting" : "connecting");
    const ws = new WebSocket(this.url());
    this.ws = ws;
    // A connection that never says Hello is as dead as a closed one.
    clearTimeout(this.helloTimer);
    this.helloTimer = setTimeout(() => { if (this.ws === ws) this.abandon(); }, 10000);
    ws.onmessage = (e) => {
      if (this.ws !== ws) return;
      let p;
      try { p = JSON.parse(e.data); } catch { return; }
      this.receive(p);
    };
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.dropped(e.code);
    };
  }

  receive(p) {
    switch (p.op) {
      case OP.HELLO: {
        clearTimeout(this.helloTimer);
        const interval = p.d.heartbeat_interval;
        this.acked = true;
        clearInterval(this.heartbeat);
        this.heartbeat = setInterval(() => this.beat(), interval);
        if (this.sessionId) {
          this.send(OP.RESUME, { token: this.token, session_id: this.sessionId, seq: this.seq });
        } else {
          this.identify();
        }
        break;
      }
      case OP.HEARTBEAT_ACK:
        this.acked = true;
        break;
      case OP.RECONNECT:
        this.abandon();
        break;
      case OP.INVALID_SESSION:
        // The session is gone (a restart, or a grace that ran out): start
        // a new one; the app reloads its state from READY.
        this.sessionId = null;
        this.seq = null;
        this.identify();
        break;
      case OP.DISPATCH:
        if (p.s) this.seq = p.s;
        if (p.t === "READY") {
          this.sessionId = p.d.session_id;
          this.connected = true;
          this.attempt = 0;
          this.onState("ready");
        } else if (p.t === "RESUMED") {
          this.connected = true;
          this.attempt = 0;
          this.onState("resumed");
        }
        this.onDispatch(p.t, p.d);
        break;
      default:
        break;
    }
  }

  identify() {
    this.send(OP.IDENTIFY, {
      token: this.token,
      intents: INTENTS,
      properties: { os: navigator.platform || "web", browser: "hearth-web", device: "hearth-web" },
      large_threshold: 250,
      presence: { since: null, activities: this.activities, status: this.status, afk: false },
    });
  }

  beat() {
    if (!this.acked) {
      // No answer to the last heartbeat: the connection is dead even if
      // the socket has not noticed (its close handshake would hang too).
      // Abandon it and resume on a new one.
      this.abandon();
      return;
    }
    this.acked = false;
    this.send(OP.HEARTBEAT, this.seq);
  }

  send(op, d) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify({ op, d }));
      return true;
    }
    return false;
  }

  dropped(code) {
    clearInterval(this.heartbeat);
    this.connected = false;
    this.ws = null;
    if (this.stopped) return;
    if (FATAL.has(code)) {
      this.stopped = true;
      this.onState("failed", code);
      return;
    }
    if (code === 4007) { this.sessionId = null; this.seq = null; }
    this.attempt += 1;
    const delay = Math.min(10000, 500 * 2 ** Math.min(this.attempt - 1, 5));
    this.onState("reconnecting", delay);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  abandon() {
    const ws = this.ws;
    if (!ws) return;
    this.ws = null;
    ws.onmessage = null;
    ws.onclose = null;
    ws.close(4000);
    this.dropped(4000);
  }

  reconnectNow() {
    if (this.stopped) return;
    if (this.ws) { this.abandon(); return; }
    this.connect();
  }

  setStatus(status, activities = this.activities) {
    this.status = status;
    this.activities = activities;
    this.send(OP.PRESENCE, { since: null, activities, status, afk: false });
  }

  voiceState(d) { return this.send(OP.VOICE_STATE, d); }

  /** All members of a guild, or just `userIds`, with their presences. */
  requestMembers(guildId, userIds) {
    const d = { guild_id: guildId, query: "", limit: 0, presences: true };
    if (userIds) d.user_ids = userIds;
    this.send(OP.REQUEST_MEMBERS, d);
  }

  /** Ends the session for good (logging out). */
  stop() {
    this.stopped = true;
    clearInterval(this.heartbeat);
    clearTimeout(this.retryTimer);
    window.removeEventListener("online", this.onOnline);
    if (this.ws) this.ws.close(1000);
    this.ws = null;
  }
}
