// A voice call (docs/protocol.md §6.13 and §7): op 4 on the main gateway,
// then the voice WebSocket at the endpoint it names, one
// RTCPeerConnection to the SFU, and the server's renegotiations (op 40/41)
// for the other participants' tracks.
//
// The same for a guild's voice channel and for the call of a DM or group
// DM: a DM call has no guild (`guildId` null), and its voice session is
// identified by the DM's id where a guild's id goes (`server_id`).
//
// Every SDP the server sends is applied in arrival order through one
// promise chain, so a renegotiation never overtakes the answer it builds on.

import { Mic, userVolume, voicePrefs } from "./mic.js";
import { ScreenShare, ScreenWatch } from "./screenshare.js";

const VOP = { IDENTIFY: 0, SELECT_PROTOCOL: 1, READY: 2, HEARTBEAT: 3, SESSION_DESCRIPTION: 4, SPEAKING: 5, HEARTBEAT_ACK: 6, RESUME: 7, HELLO: 8, RESUMED: 9, CLIENTS_CONNECT: 11, CLIENT_DISCONNECT: 13, SERVER_OFFER: 40, CLIENT_ANSWER: 41, VIDEO_QUALITY: 42 };

// The camera goes out as three simulcast layers, lowest first (the order
// the SFU reads them in). Chrome sends three only from an input of
// 960x540 up (640x360 gets two). The SFU estimates no bandwidth (no
// transport-cc or REMB), so Chrome's estimate starts at 300 kbps and grows
// only while receiver reports show no loss, and Chrome enables a layer
// only once those below it have their target rate. Caps adding up to
// 250 kbps (300 less the microphone) let all three flow from the start;
// Chrome's 720p rates (150/500/1500 kbps) held the full layer back 20 s
// even on loopback, and a 720p layer at 150 kbps ran at 6-11 fps.
// web/README.md has the measurements.
const CAMERA = { width: 960, height: 540 };
const CAMERA_LAYERS = [
  { rid: "q", scaleResolutionDownBy: 4, maxBitrate: 30_000 },
  { rid: "h", scaleResolutionDownBy: 2, maxBitrate: 70_000 },
  { rid: "f", scaleResolutionDownBy: 1, maxBitrate: 150_000 },
];

// A shared screen goes out as one layer at its own resolution: text must
// stay legible, and a screen changes little, so a low frame rate is enough.
const SCREEN_ENCODING = [{ maxFramerate: 15 }];

/** Where op 40's `source` puts a track in `remote` (a server without `source` gives the kind). */
const SLOT = { microphone: "audio", camera: "video", screen: "screen", screen_audio: "screenAudio" };
const slotOf = (info) => SLOT[info.source] || info.kind;

/** How long a dropped voice socket may try to resume before rejoining; the server keeps the call for 5 s. */
const RESUME_WINDOW_MS = 4000;

/**
 * The least time between two rejoins' op 4. When a cluster's SFU node
 * dies, op 4 names it again until its registry entry lapses (about 5 s);
 * its port refuses at once, so rejoining on each refusal sent op 4 in a
 * tight loop (every few ms) while the server was about to move the call
 * and say where with a VOICE_SERVER_UPDATE of its own.
 */
const REJOIN_GAP_MS = 3000;

function mediaError(kind, err) {
  const what = kind === "audio" ? "microphone" : "camera";
  if (err && (err.name === "NotAllowedError" || err.name === "SecurityError")) {
    return `Access to the ${what} was refused. Allow it in your browser's site settings, then try again.`;
  }
  if (err && (err.name === "NotFoundError" || err.name === "OverconstrainedError")) {
    return `No ${what} was found.`;
  }
  if (!navigator.mediaDevices) {
    return `The browser offers no ${what} on this page: open it over https or on localhost.`;
  }
  return `The ${what} could not be started${err && err.message ? `: ${err.message}` : "."}`;
}

function waitForGathering(pc, ms) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (pc.iceGatheringState !== "complete") return;
      pc.removeEventListener("icegatheringstatechange", done);
      resolve();
    };
    pc.addEventListener("icegatheringstatechange", done);
    // The SFU is ICE-lite and needs none of our candidates to answer
    // our checks: after a while, send what we have.
    setTimeout(resolve, ms);
  });
}

export class VoiceCall {
  /**
   * `emit(kind, detail)` reports: "status" (text), "error" (text), "speaking",
   * "remote" (tracks changed), "local" (own tracks changed), "ended" (reason).
   */
  constructor({ gateway, guildId, channelId, userId, sessionId, emit }) {
    Object.assign(this, { gateway, guildId, channelId, userId, sessionId, emit });
    this.selfMute = false;
    this.selfDeaf = false;
    this.selfVideo = false;
    this.mutedBeforeDeaf = false;
    this.audioTrack = null;
    /** The local audio chain (mic.js) whose track is audioTrack, or null without a microphone. */
    this.mic = null;
    this.videoTrack = null;
    this.localStream = new MediaStream();
    /** The screen being shared (screenshare.js); its tracks go on screenTx / screenAudioTx. */
    this.screenShare = new ScreenShare({ onEnded: () => { if (!this.ended) this.setScreen(false); } });
    /** Whose screens are live: their frames arrive (op 40 announces the m-line from the start). */
    this.screenWatch = new ScreenWatch({ onChange: () => { if (!this.ended) this.emit("remote"); } });
    this.pc = null;
    this.ws = null;
    this.token = null;
    this.endpoint = null;
    /** mid -> {user_id, kind, layers}, from the latest op 40 */
    this.tracks = new Map();
    /** user id -> the quality their tile asks of their camera ("high" unless said) */
    this.wantedQuality = new Map();
    /** mid -> the quality op 42 last asked for it on this connection */
    this.askedQuality = new Map();
    /** user id -> {audio, video, screen, screenAudio} MediaStreamTracks being received, by op 40's `source` */
    this.remote = new Map();
    this.speaking = new Set();
    this.audioSink = document.createElement("div");
    this.audioSink.hidden = true;
    document.body.append(this.audioSink);
    this.audioEls = new Map();
    this.chain = Promise.resolve();
    this.generation = 0;
    this.ended = false;
    this.status = "Joining…";
    this.droppedAt = 0;
    /** The voice socket is identified and its call set up (or resumed). */
    this.live = false;
    this.trace = [];
    this.waitingForGateway = false;
    this.resumes = 0;
    this.rejoins = 0;
    /** When the last rejoin's op 4 went, and the timer of one held back. */
    this.lastRejoinAt = 0;
    this.rejoinTimer = null;
  }

  /** What the voice gateway knows the call by: the guild, or the DM for a DM call. */
  get serverId() { return this.guildId || this.channelId; }

  /** How messages name what was joined. */
  get place() { return this.guildId ? "the voice channel" : "the call"; }

  /** A short trace of what happened, for debugging (hearthDebug). */
  note(text) {
    this.trace.push(`${new Date().toISOString().slice(11, 23)} ${text}`);
    if (this.trace.length > 200) this.trace.shift();
  }

  setStatus(text) {
    this.note(`status: ${text}`);
    this.status = text;
    this.emit("status", text);
  }

  /** Starts the microphone (and the camera if asked), then asks to join. */
  async start({ camera = false } = {}) {
    try {
      // The microphone through the local chain (mic.js): its track is the
      // one sent, gated by mute and push to talk.
      this.mic = new Mic({ forCall: true, onChange: () => { if (this.mic) this.emit("speaking", { userId: this.userId, speaking: this.mic.speaking }); } });
      await this.mic.start();
      this.audioTrack = this.mic.track;
      this.localStream.addTrack(this.audioTrack);
    } catch (err) {
      if (this.mic) { this.mic.stop(); this.mic = null; }
      this.emit("error", `${mediaError("audio", err)} You joined without a microphone.`);
      this.selfMute = true;
    }
    if (camera) await this.startCamera();
    if (this.ended) { this.stopLocal(); return; }
    this.sendVoiceState();
    // The gateway refuses silently (no CONNECT, or a full channel).
    setTimeout(() => {
      if (!this.token) this.end(`Couldn't join ${this.place}: you may not have permission, or it is full.`);
    }, 10000);
  }

  async startCamera() {
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ video: CAMERA });
      this.videoTrack = stream.getVideoTracks()[0];
      this.localStream.addTrack(this.videoTrack);
      this.selfVideo = true;
      return true;
    } catch (err) {
      this.emit("error", mediaError("video", err));
      return false;
    }
  }

  sendVoiceState() {
    return this.gateway.voiceState({
      guild_id: this.guildId, channel_id: this.channelId,
      self_mute: this.selfMute, self_deaf: this.selfDeaf, self_video: this.selfVideo,
      self_stream: this.selfStream,
    });
  }

  /** VOICE_SERVER_UPDATE: (re)connect to the media server with a fresh token. */
  serverUpdate({ token, endpoint }) {
    if (this.ended) return;
    // The answer a held-back rejoin would have asked for (or a move).
    clearTimeout(this.endTimer);
    clearTimeout(this.rejoinTimer);
    this.rejoinTimer = null;
    this.token = token;
    this.endpoint = endpoint;
    this.teardownMedia();
    this.openSocket(false);
  }

  socketUrl() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${this.endpoint.replace(/\/+$/, "")}/?v=8`;
  }

  openSocket(resume) {
    this.setStatus(resume ? "Reconnecting…" : "Connecting…");
    const ws = new WebSocket(this.socketUrl());
    this.ws = ws;
    // The highest `seq` of the room's frames seen on this call: heartbeats
    // and Resume acknowledge it, and a resume gets again what came after.
    if (!resume) this.seqAck = -1;
    let heartbeat = null;
    let acked = true;
    ws.onmessage = (e) => {
      if (this.ws !== ws) return;
      let p;
      try { p = JSON.parse(e.data); } catch { return; }
      if (p.op === VOP.HEARTBEAT_ACK) acked = true;
      if (typeof p.seq === "number" && p.seq > this.seqAck) this.seqAck = p.seq;
      this.receive(p, resume, (interval) => {
        clearInterval(heartbeat);
        // More often than asked (the server takes any rate): a dead socket
        // is noticed within seconds rather than half a minute.
        heartbeat = setInterval(() => {
          // No answer to the last one: the socket is dead; resume.
          if (!acked) {
            clearInterval(heartbeat);
            if (this.ws !== ws) return;
            this.ws = null;
            ws.onclose = null;
            ws.close(4000);
            this.socketClosed(4000, "");
            return;
          }
          acked = false;
          this.send(VOP.HEARTBEAT, { t: Date.now(), seq_ack: this.seqAck });
        }, Math.min(interval, 5000));
      });
    };
    ws.onclose = (e) => {
      clearInterval(heartbeat);
      if (this.ws !== ws) return;
      this.ws = null;
      this.socketClosed(e.code, e.reason);
    };
  }

  send(op, d) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify({ op, d }));
    return true;
  }

  receive(p, resume, startHeartbeat) {
    this.note(`recv op ${p.op}${p.op === VOP.SERVER_OFFER ? ` tracks ${JSON.stringify(p.d.tracks)}` : ""}${p.op === VOP.CLIENT_DISCONNECT || p.op === 11 ? ` ${JSON.stringify(p.d)}` : ""}`);
    switch (p.op) {
      case VOP.HELLO:
        startHeartbeat(p.d.heartbeat_interval);
        if (resume) {
          this.send(VOP.RESUME, { server_id: this.serverId, session_id: this.sessionId, token: this.token, seq_ack: this.seqAck });
        } else {
          this.send(VOP.IDENTIFY, { server_id: this.serverId, user_id: this.userId, session_id: this.sessionId, token: this.token });
        }
        break;
      case VOP.READY:
        this.queue(() => this.offer());
        break;
      case VOP.RESUMED:
        this.resumes += 1;
        // An op 42 written to the dead socket may be lost: ask again.
        this.askedQuality.clear();
        this.askQualities();
        this.droppedAt = 0;
        this.live = true;
        this.setStatus("Voice connected");
        break;
      case VOP.SESSION_DESCRIPTION:
        this.queue(async () => {
          await this.pc.setRemoteDescription({ type: "answer", sdp: p.d.sdp });
          this.droppedAt = 0;
          this.live = true;
          if (this.pc.connectionState === "connected") this.setStatus("Voice connected");
        });
        break;
      case VOP.SERVER_OFFER:
        this.lastOffer = p.d;
        this.queue(async () => {
          this.tracks = new Map((p.d.tracks || []).map((t) => [t.mid, t]));
          await this.pc.setRemoteDescription({ type: "offer", sdp: p.d.sdp });
          await this.pc.setLocalDescription(await this.pc.createAnswer());
          this.send(VOP.CLIENT_ANSWER, { sdp: this.pc.localDescription.sdp });
          this.refreshRemote();
          this.askQualities();
        });
        break;
      case VOP.SPEAKING:
        if (p.d.speaking) this.speaking.add(p.d.user_id);
        else this.speaking.delete(p.d.user_id);
        this.emit("speaking", { userId: p.d.user_id, speaking: !!p.d.speaking });
        break;
      case VOP.CLIENT_DISCONNECT:
        this.speaking.delete(p.d.user_id);
        this.emit("speaking", { userId: p.d.user_id, speaking: false });
        break;
      default:
        break;
    }
  }

  /** Runs `task` after the SDP work before it, unless the media was torn down meanwhile. */
  queue(task) {
    const generation = this.generation;
    this.chain = this.chain.then(() => (generation === this.generation ? task() : undefined)).catch((err) => {
      if (this.ended) return;
      console.error("voice negotiation failed", err);
      this.emit("error", `The voice connection could not be set up: ${err.message || err}`);
    });
  }

  async offer() {
    const pc = new RTCPeerConnection({ iceServers: [], bundlePolicy: "max-bundle", rtcpMuxPolicy: "require" });
    this.pc = pc;
    // Our own tracks go out on two send-only m-lines; the others' come in
    // on m-lines the server adds (op 40). Without a device the m-line is
    // still there, so turning the camera on later needs no renegotiation.
    this.audioTx = pc.addTransceiver(this.audioTrack || "audio", { direction: "sendonly", streams: [this.localStream] });
    this.videoTx = pc.addTransceiver(this.videoTrack || "video", { direction: "sendonly", streams: [this.localStream], sendEncodings: CAMERA_LAYERS });
    // The screen's m-lines, after the camera's and the microphone's (the
    // SFU calls a publisher's second track of a kind its screen), empty
    // until the user shares.
    const screen = this.screenShare;
    this.screenTx = pc.addTransceiver(screen.video || "video", { direction: "sendonly", streams: [screen.stream], sendEncodings: SCREEN_ENCODING });
    this.screenAudioTx = pc.addTransceiver(screen.audio || "audio", { direction: "sendonly", streams: [screen.stream] });
    this.gateMic();
    pc.ontrack = () => this.refreshRemote();
    pc.onconnectionstatechange = () => {
      if (this.pc !== pc) return;
      this.note(`pc ${pc.connectionState}`);
      // Media may come back before the voice socket does: connected
      // means both.
      if (pc.connectionState === "connected" && this.live) {
        this.setStatus("Voice connected");
      } else if (pc.connectionState === "failed") {
        this.rejoin("The media connection failed; rejoining…");
      }
    };
    await pc.setLocalDescription(await pc.createOffer());
    await waitForGathering(pc, 2000);
    if (this.pc !== pc) return;
    this.send(VOP.SELECT_PROTOCOL, { protocol: "webrtc", sdp: pc.localDescription.sdp });
  }

  /** The quality `userId`'s tile wants of their camera (a size class of the tile). */
  wantQuality(userId, quality) {
    this.wantedQuality.set(userId, quality);
    this.askQualities();
  }

  /** Op 42 for every simulcast track whose wanted quality is not the one asked (the server starts at "high"). */
  askQualities() {
    for (const [mid, t] of this.tracks) {
      if (t.kind !== "video" || !(t.layers > 1)) continue;
      const quality = this.wantedQuality.get(t.user_id) || "high";
      if ((this.askedQuality.get(mid) || "high") === quality) continue;
      if (!this.send(VOP.VIDEO_QUALITY, { mid, quality })) return;
      this.askedQuality.set(mid, quality);
      this.note(`sent op 42 ${mid} ${quality}`);
    }
  }

  /** Which user's audio and video each receiving m-line carries now. */
  refreshRemote() {
    if (!this.pc) return;
    const remote = new Map();
    for (const t of this.pc.getTransceivers()) {
      const info = t.mid && this.tracks.get(t.mid);
      const dir = t.currentDirection || t.direction;
      if (!info || !(dir === "recvonly" || dir === "sendrecv")) continue;
      if (!remote.has(info.user_id)) remote.set(info.user_id, { audio: null, video: null, screen: null, screenAudio: null });
      remote.get(info.user_id)[slotOf(info)] = t.receiver.track;
    }
    this.remote = remote;
    this.screenWatch.update(this.pc, this.tracks);
    this.playAudio();
    this.emit("remote");
  }

  /**
   * One hidden <audio> per remote user's voice (keyed by the user id), and
   * one per shared screen's sound (keyed `<id>:screen`), played so they are
   * heard; both follow deafen and that person's volume.
   */
  playAudio() {
    const wanted = new Map();
    for (const [user, r] of this.remote) {
      if (r.audio) wanted.set(user, { user, track: r.audio });
      if (r.screenAudio) wanted.set(`${user}:screen`, { user, track: r.screenAudio });
    }
    for (const [key, el] of this.audioEls) {
      if (!wanted.has(key)) { el.srcObject = null; el.remove(); this.audioEls.delete(key); }
    }
    for (const [key, { user, track }] of wanted) {
      let el = this.audioEls.get(key);
      if (!el) {
        el = document.createElement("audio");
        el.autoplay = true;
        // A person's voice is `audio[data-user]`; their screen's sound `audio[data-screen]`.
        if (key === user) el.dataset.user = user;
        else el.dataset.screen = user;
        this.audioSink.append(el);
        this.audioEls.set(key, el);
      }
      const current = el.srcObject && el.srcObject.getAudioTracks()[0];
      if (current !== track) el.srcObject = new MediaStream([track]);
      el.muted = this.selfDeaf;
      el.volume = userVolume(user);
      // The output device chosen in the voice settings, where the browser can.
      const sink = voicePrefs().output;
      if (sink && el.setSinkId && el.sinkId !== sink) el.setSinkId(sink).catch(() => {});
      el.play().catch(() => {});
    }
  }

  socketClosed(code, reason) {
    this.note(`socket closed ${code} ${reason || ""}`);
    this.live = false;
    if (this.ended) return;
    if (code === 4014) {
      const why = reason && reason.includes("removed") ? `You were disconnected from ${this.place}.` : "The voice call ended.";
      // A moderator's move lets the old call go too, and the media server
      // may say so before the gateway's VOICE_SERVER_UPDATE for the new
      // channel arrives: wait a moment for it (serverUpdate carries on).
      clearTimeout(this.endTimer);
      this.setStatus("Reconnecting…");
      this.endTimer = setTimeout(() => { if (!this.ws && !this.ended) this.end(why); }, 2000);
      return;
    }
    if (code === 4004 || code === 4006 || code === 4002 || code === 4003 || code === 4005 || code === 4012) {
      this.rejoin("The voice session was lost; rejoining…");
      return;
    }
    // A dropped socket: the server keeps the call for a few seconds, so
    // resume if we can, and rejoin from the start if we cannot.
    if (!this.droppedAt) this.droppedAt = Date.now();
    if (Date.now() - this.droppedAt > RESUME_WINDOW_MS || !this.pc) {
      this.rejoin("Reconnecting to voice…");
      return;
    }
    this.setStatus("Reconnecting…");
    setTimeout(() => { if (!this.ended && !this.ws) this.openSocket(true); }, 500);
  }

  /**
   * Starts the call over: a new op 4 brings a new token and endpoint. At
   * most one op 4 per REJOIN_GAP_MS: a rejoin sooner than that is held
   * back (and dropped if a VOICE_SERVER_UPDATE comes meanwhile).
   */
  rejoin(status) {
    if (this.ended) return;
    this.setStatus(status);
    this.teardownMedia();
    this.droppedAt = 0;
    if (this.rejoinTimer) return;
    const wait = this.lastRejoinAt + REJOIN_GAP_MS - Date.now();
    if (wait > 0) {
      this.note(`rejoin held back ${wait} ms`);
      this.rejoinTimer = setTimeout(() => { this.rejoinTimer = null; this.sendRejoin(); }, wait);
      return;
    }
    this.sendRejoin();
  }

  sendRejoin() {
    if (this.ended) return;
    this.rejoins += 1;
    this.lastRejoinAt = Date.now();
    if (!this.sendVoiceState()) this.waitingForGateway = true;
  }

  /** The main gateway is back: a new session needs a new voice state. */
  gatewayBack(sessionId) {
    if (this.ended) return;
    const newSession = sessionId !== this.sessionId;
    this.sessionId = sessionId;
    if (newSession || this.waitingForGateway) {
      this.waitingForGateway = false;
      this.rejoin("Rejoining voice…");
    }
  }

  teardownMedia() {
    this.live = false;
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.close(4000);
    }
    if (this.pc) {
      this.pc.close();
      this.pc = null;
    }
    this.generation += 1;
    this.chain = Promise.resolve();
    this.tracks = new Map();
    this.askedQuality.clear();
    this.screenWatch.update(null, this.tracks);
    this.remote = new Map();
    this.speaking.clear();
    this.playAudio();
    this.emit("remote");
  }

  /** The microphone goes out unless muted (and, with push to talk, while its key is held: mic.js). */
  gateMic() {
    if (this.mic) this.mic.setOpen(!this.selfMute);
  }

  /** Whether the user's own voice is loud enough to ring their tile (the server's op 5 is about the others). */
  get selfSpeaking() { return !!this.mic && this.mic.speaking; }

  /** The panel's "Push to talk" line: off (null), or whether the key is held. */
  get pushToTalk() { return this.mic && this.mic.pushToTalk ? { held: this.mic.held, key: this.mic.prefs.pttLabel } : null; }

  setMute(mute) {
    if (!this.audioTrack && !mute) {
      this.emit("error", "There is no microphone to unmute. Allow microphone access and join again.");
      return;
    }
    this.selfMute = mute;
    this.gateMic();
    if (!mute && this.selfDeaf) { this.selfDeaf = false; this.playAudio(); }
    this.sendVoiceState();
    this.emit("local");
  }

  setDeaf(deaf) {
    if (deaf) {
      this.mutedBeforeDeaf = this.selfMute;
      this.selfMute = true;
    } else {
      this.selfMute = this.mutedBeforeDeaf;
    }
    this.selfDeaf = deaf;
    this.gateMic();
    this.playAudio();
    this.sendVoiceState();
    this.emit("local");
  }

  async setCamera(on) {
    if (on && !this.videoTrack) {
      if (!(await this.startCamera())) return;
      if (this.ended) { this.stopLocal(); return; }
    } else if (!on && this.videoTrack) {
      this.localStream.removeTrack(this.videoTrack);
      this.videoTrack.stop();
      this.videoTrack = null;
    }
    this.selfVideo = on;
    // While reconnecting there is no connection; the next one starts with the track.
    if (this.pc && this.videoTx) {
      try {
        await this.videoTx.sender.replaceTrack(this.videoTrack);
      } catch (err) {
        console.warn("camera track not switched", err);
      }
    }
    this.sendVoiceState();
    this.emit("local");
  }

  /**
   * Starts or stops sharing the screen. Cancelling the browser's picker
   * changes nothing; the browser's own "Stop sharing" comes here too.
   */
  async setScreen(on) {
    if (on && !this.screenShare.active) {
      try {
        if (!(await this.screenShare.start())) return;
      } catch (err) {
        this.emit("error", `The screen could not be shared${err && err.message ? `: ${err.message}` : "."}`);
        return;
      }
      if (this.ended) { this.screenShare.stop(); return; }
    } else if (!on && this.screenShare.active) {
      this.screenShare.stop();
    } else {
      return;
    }
    // The button and one's own screen tile follow at once; the others see
    // it in the voice state (`self_stream`, as Discord's Go Live).
    this.emit("local");
    this.sendVoiceState();
    // While reconnecting there is no connection; the next one starts with the tracks.
    if (this.pc && this.screenTx) {
      try {
        await this.screenTx.sender.replaceTrack(this.screenShare.video);
        await this.screenAudioTx.sender.replaceTrack(this.screenShare.audio);
      } catch (err) {
        console.warn("screen track not switched", err);
      }
    }
  }

  /** Whether this user shares their screen now. */
  get selfStream() { return this.screenShare.active; }

  stopLocal() {
    this.screenShare.stop();
    for (const t of this.localStream.getTracks()) t.stop();
    if (this.mic) { this.mic.stop(); this.mic = null; }
    this.audioTrack = null;
    this.videoTrack = null;
  }

  /** Leaves: tells the gateway, closes the media, releases the devices. */
  leave() {
    if (this.ended) return;
    this.gateway.voiceState({ guild_id: this.guildId, channel_id: null, self_mute: false, self_deaf: false, self_video: false });
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.close(1000);
    }
    this.end(null);
  }

  end(reason) {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.rejoinTimer);
    this.screenWatch.update(null, new Map());
    if (this.ws) { const ws = this.ws; this.ws = null; ws.close(1000); }
    if (this.pc) { this.pc.close(); this.pc = null; }
    this.stopLocal();
    this.remote = new Map();
    this.playAudio();
    this.audioSink.remove();
    this.emit("ended", reason);
  }

  /**
   * Per remote user: inbound audio packets and video frames (getStats), as
   * `audio` and `video` for the microphone and camera, `screen` and
   * `screenAudio` for a shared screen.
   */
  async inboundStats() {
    const out = {};
    if (!this.pc) return out;
    const midOfTrack = new Map();
    for (const t of this.pc.getTransceivers()) if (t.mid) midOfTrack.set(t.receiver.track.id, t.mid);
    const report = await this.pc.getStats();
    report.forEach((s) => {
      if (s.type !== "inbound-rtp") return;
      const info = this.tracks.get(s.mid || midOfTrack.get(s.trackIdentifier));
      if (!info) return;
      const u = (out[info.user_id] ||= {});
      const slot = slotOf(info);
      u[slot] = { packetsReceived: s.packetsReceived || 0, framesDecoded: s.framesDecoded || 0, bytesReceived: s.bytesReceived || 0 };
      // What was heard, not only that packets came: silence (a muted or
      // push-to-talk track) adds packets but no energy.
      if (info.kind === "audio") Object.assign(u[slot], { totalAudioEnergy: s.totalAudioEnergy || 0, audioLevel: s.audioLevel || 0 });
      if (info.kind === "video") Object.assign(u[slot], { frameWidth: s.frameWidth || 0, frameHeight: s.frameHeight || 0 });
    });
    return out;
  }

  /** Per simulcast layer (rid) of the camera being sent: its size, bytes sent and what limits it (getStats). */
  async outboundStats() {
    const out = {};
    if (!this.pc) return out;
    const report = await this.pc.getStats();
    report.forEach((s) => {
      if (s.type !== "outbound-rtp" || s.kind !== "video") return;
      // The camera's layers only, not a shared screen's.
      if (this.screenTx && s.mid && s.mid === this.screenTx.mid) return;
      out[s.rid || ""] = {
        frameWidth: s.frameWidth || 0, frameHeight: s.frameHeight || 0, bytesSent: s.bytesSent || 0,
        framesPerSecond: s.framesPerSecond || 0, qualityLimitationReason: s.qualityLimitationReason,
      };
    });
    return out;
  }
}
