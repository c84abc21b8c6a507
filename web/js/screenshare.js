// Screen sharing (docs/protocol.md §7.2 item 5): the display-media side of
// a call, and how a participant's shared screen is known to be live.
//
// The protocol has no renegotiation from the client, so a call offers the
// screen's m-lines from the start (voice.js: a send-only video m-line after
// the camera's, a send-only audio one after the microphone's) and sharing
// only puts tracks on them with replaceTrack. The SFU announces those
// m-lines to the others as soon as the call starts (op 40, `source`
// "screen" / "screen_audio"), sharing or not. The voice state's
// `self_stream` says who shares (the sidebar's LIVE); the stage shows a
// screen once its frames arrive (ScreenWatch), so a tile never waits on
// an empty track.

/** What the browser gives for "Share screen": a video track, and the shared tab's or screen's sound when it has any. */
export class ScreenShare {
  constructor({ onEnded }) {
    this.onEnded = onEnded;
    this.video = null;
    this.audio = null;
    /** The stream both go out in, so the SFU sees them as one publisher's pair. */
    this.stream = new MediaStream();
    this.starting = null;
  }

  get active() { return !!this.video; }

  /**
   * Asks the browser for a screen, a window or a tab. Resolves to true once
   * sharing, false when the user cancelled the browser's picker; throws on
   * anything else.
   */
  start() {
    // A second click while the browser's picker is open asks nothing more.
    if (!this.starting) this.starting = this.pick().finally(() => { this.starting = null; });
    return this.starting;
  }

  async pick() {
    if (this.video) return true;
    let stream;
    try {
      stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: true });
    } catch (err) {
      // Closing the picker (or "Cancel") is a NotAllowedError: nothing to say.
      if (err && err.name === "NotAllowedError") return false;
      throw err;
    }
    this.video = stream.getVideoTracks()[0] || null;
    this.audio = stream.getAudioTracks()[0] || null;
    if (!this.video) { this.stop(); return false; }
    // Text and lines, not motion: the encoder keeps the resolution and
    // gives up frame rate when bandwidth is short.
    this.video.contentHint = "detail";
    if (this.audio) this.audio.contentHint = "music";
    for (const t of [this.video, this.audio]) {
      if (!t) continue;
      this.stream.addTrack(t);
      // The browser's own "Stop sharing" bar (or the shared window closing)
      // ends the track: the call stops sharing too.
      t.addEventListener("ended", () => { if (t === this.video) this.onEnded(); });
    }
    return true;
  }

  stop() {
    for (const t of [this.video, this.audio]) {
      if (!t) continue;
      this.stream.removeTrack(t);
      t.stop();
    }
    this.video = null;
    this.audio = null;
  }
}

/** How long a screen may go without a new decoded frame before its tile goes. */
const IDLE_MS = 4000;

/**
 * Which participants' screens are live, from the frames decoded on the
 * m-lines op 40 names `screen` (getStats, once a second while there are
 * any). A shared screen that does not change sends few frames (WebRTC
 * repeats an idle screen's last frame about once a second, if at all), so
 * IDLE_MS leaves room for that before the tile goes.
 */
export class ScreenWatch {
  constructor({ onChange }) {
    this.onChange = onChange;
    /** user id -> when a new frame was last seen */
    this.lastFrame = new Map();
    /** mid -> framesDecoded last read */
    this.frames = new Map();
    this.live = new Set();
    this.timer = null;
    this.pc = null;
    this.tracks = new Map();
  }

  /** The connection and op 40's tracks changed: watch the screens among them. */
  update(pc, tracks) {
    this.pc = pc;
    this.tracks = tracks;
    const any = !!pc && [...tracks.values()].some((t) => t.source === "screen");
    if (any && !this.timer) this.timer = setInterval(() => this.poll(), 1000);
    if (!any) this.reset();
  }

  reset() {
    clearInterval(this.timer);
    this.timer = null;
    this.frames.clear();
    this.lastFrame.clear();
    if (this.live.size) { this.live = new Set(); this.onChange(); }
  }

  async poll() {
    const pc = this.pc;
    if (!pc) return;
    let report;
    try { report = await pc.getStats(); } catch { return; }
    if (pc !== this.pc) return;
    const now = Date.now();
    report.forEach((s) => {
      if (s.type !== "inbound-rtp" || s.kind !== "video") return;
      const info = this.tracks.get(s.mid);
      if (!info || info.source !== "screen") return;
      const frames = s.framesDecoded || 0;
      // A reused m-line carries a new track under a new SSRC: it starts
      // a count of its own rather than look like new frames.
      const key = `${s.mid}:${info.user_id}:${s.ssrc}`;
      if (this.frames.has(key) && frames !== this.frames.get(key)) this.lastFrame.set(info.user_id, now);
      this.frames.set(key, frames);
    });
    const onLines = new Set([...this.tracks.values()].filter((t) => t.source === "screen").map((t) => t.user_id));
    const live = new Set([...this.lastFrame].filter(([user, at]) => onLines.has(user) && now - at < IDLE_MS).map(([user]) => user));
    const changed = live.size !== this.live.size || [...live].some((u) => !this.live.has(u));
    this.live = live;
    if (changed) this.onChange();
  }
}
