// The local audio chain: the microphone as the user set it up (device,
// echo cancellation, noise suppression, automatic gain), through a Web
// Audio GainNode (the input volume) into a MediaStreamDestination whose
// track is the one a call sends, with an AnalyserNode beside it for the
// level meter and the user's own speaking ring.
//
// The sent track never changes while the chain lives: a new device or new
// constraints replace only the source feeding the gain, so a call needs
// no renegotiation and no replaceTrack. Mute and push to talk gate that
// track (`enabled`): while closed it sends silence, which the other side
// hears as nothing.
//
// The voice preferences live here too (localStorage), read by the chain,
// by the call's audio elements (output device, each person's volume) and
// by the voice settings.

const PREFS_KEY = "hearth.voice";
const VOLUME_KEY = "hearth.userVolume";

/** What a new user gets. `gain` in percent (0–200); `mode` "vad" (voice activity) or "ptt". */
const DEFAULTS = Object.freeze({
  input: "", output: "", gain: 100,
  echoCancellation: true, noiseSuppression: true, autoGainControl: true,
  mode: "vad", pttKey: "", pttLabel: "",
});

function read(key, fallback) {
  try {
    const v = JSON.parse(localStorage.getItem(key) || "null");
    return v && typeof v === "object" ? v : fallback;
  } catch {
    return fallback;
  }
}

const prefListeners = new Set();

/** The voice preferences now. */
export const voicePrefs = () => ({ ...DEFAULTS, ...read(PREFS_KEY, {}) });

/** Saves a change and tells every live chain and view. */
export function saveVoicePrefs(change) {
  const prefs = { ...voicePrefs(), ...change };
  localStorage.setItem(PREFS_KEY, JSON.stringify(prefs));
  for (const fn of prefListeners) fn(prefs, change);
  return prefs;
}

export function onVoicePrefs(fn) {
  prefListeners.add(fn);
  return () => prefListeners.delete(fn);
}

/**
 * How loud a person's audio plays here, 0–1. An <audio> element's volume
 * stops at 1, and taking remote WebRTC audio through Web Audio to boost it
 * needs the element kept playing muted beside it (a Chromium quirk), so the
 * slider stops at 100%.
 */
export function userVolume(userId) {
  const v = read(VOLUME_KEY, {})[userId];
  return typeof v === "number" && v >= 0 && v <= 1 ? v : 1;
}

export function setUserVolume(userId, volume) {
  const all = read(VOLUME_KEY, {});
  all[userId] = Math.max(0, Math.min(1, volume));
  localStorage.setItem(VOLUME_KEY, JSON.stringify(all));
}

/** getUserMedia's audio constraints from the preferences. */
export function audioConstraints(prefs = voicePrefs()) {
  const c = {
    echoCancellation: prefs.echoCancellation,
    noiseSuppression: prefs.noiseSuppression,
    autoGainControl: prefs.autoGainControl,
  };
  if (prefs.input) c.deviceId = { exact: prefs.input };
  return c;
}

/**
 * The level meter's scale: the signal's RMS in decibels, -60 dB (and
 * below) to 0 dB as 0 to 100. A voice at a normal distance reads 40–70.
 */
export const meterValue = (rms) => (rms <= 0 ? 0 : Math.round(Math.max(0, Math.min(1, (20 * Math.log10(rms) + 60) / 60)) * 100));

/** Above this meter value the user is speaking (about -42 dB): breathing and a fan stay below. */
const SPEAKING_AT = 30;
/** The ring stays this long after the voice drops, so it does not flicker between words. */
const SPEAKING_HOLD_MS = 300;

/** The chain a call runs now, if any (the voice settings' meter and push to talk use it). */
let active = null;
export const activeMic = () => active;

export class Mic {
  /**
   * `onChange()` is called when what a view shows changes: speaking,
   * the push-to-talk key held or let go, the gate.
   * `forCall`: this chain is the call's (push to talk applies to it).
   */
  constructor({ onChange = () => {}, forCall = false } = {}) {
    this.onChange = onChange;
    this.forCall = forCall;
    this.prefs = voicePrefs();
    this.ctx = null;
    this.raw = null;
    this.source = null;
    this.open = true;
    this.held = false;
    this.speaking = false;
    this.quietSince = 0;
    this.stopped = false;
  }

  /** Opens the microphone; rejects as getUserMedia does. */
  async start() {
    const raw = await navigator.mediaDevices.getUserMedia({ audio: audioConstraints(this.prefs) });
    if (this.stopped) { for (const t of raw.getTracks()) t.stop(); return; }
    this.ctx = new AudioContext();
    // Created outside a click (a rejoin), it may start suspended.
    if (this.ctx.state === "suspended") this.ctx.resume().catch(() => {});
    this.gain = this.ctx.createGain();
    this.gain.gain.value = this.prefs.gain / 100;
    this.analyser = this.ctx.createAnalyser();
    this.analyser.fftSize = 1024;
    this.samples = new Float32Array(this.analyser.fftSize);
    this.dest = this.ctx.createMediaStreamDestination();
    this.gain.connect(this.analyser);
    this.gain.connect(this.dest);
    this.track = this.dest.stream.getAudioTracks()[0];
    this.feed(raw);
    this.gate();
    this.unlisten = onVoicePrefs((prefs, change) => this.prefsChanged(prefs, change));
    this.timer = setInterval(() => this.watch(), 50);
    if (this.forCall) active = this;
  }

  feed(raw) {
    if (this.source) this.source.disconnect();
    if (this.raw) for (const t of this.raw.getTracks()) t.stop();
    this.raw = raw;
    this.source = this.ctx.createMediaStreamSource(raw);
    this.source.connect(this.gain);
  }

  /** The microphone's label, as the browser names it. */
  get deviceLabel() {
    const t = this.raw && this.raw.getAudioTracks()[0];
    return t ? t.label : "";
  }

  async prefsChanged(prefs, change) {
    this.prefs = prefs;
    if ("gain" in change && this.gain) this.gain.gain.value = prefs.gain / 100;
    if ("mode" in change || "pttKey" in change) { this.held = false; this.gate(); }
    if (["input", "echoCancellation", "noiseSuppression", "autoGainControl"].some((k) => k in change)) {
      // The same sent track, a new source behind it.
      try {
        const raw = await navigator.mediaDevices.getUserMedia({ audio: audioConstraints(prefs) });
        if (this.stopped) { for (const t of raw.getTracks()) t.stop(); return; }
        this.feed(raw);
      } catch (err) {
        console.warn("microphone not switched", err);
      }
      this.onChange();
    }
  }

  /** Whether push to talk decides when this chain sends. */
  get pushToTalk() { return this.forCall && this.prefs.mode === "ptt"; }

  /** Not muted (by the user or by deafening). */
  setOpen(open) { this.open = open; this.gate(); }

  /** The push-to-talk key held (true) or let go. */
  setHeld(held) {
    if (this.held === held) return;
    this.held = held;
    this.gate();
  }

  /** Whether the sent track carries the microphone now. */
  get sending() { return this.open && (!this.pushToTalk || this.held); }

  gate() {
    if (this.track) this.track.enabled = this.sending;
    this.watch();
    this.onChange();
  }

  /** The signal's level now (RMS, 0–1), after the input volume. */
  rms() {
    if (!this.analyser) return 0;
    this.analyser.getFloatTimeDomainData(this.samples);
    let sum = 0;
    for (const s of this.samples) sum += s * s;
    return Math.sqrt(sum / this.samples.length);
  }

  /** The level meter's value now, 0–100. */
  level() { return meterValue(this.rms()); }

  /** Speaking: loud enough while sending, held a moment after. */
  watch() {
    if (!this.analyser) return;
    const now = Date.now();
    const loud = this.sending && this.level() >= SPEAKING_AT;
    if (loud) this.quietSince = 0;
    else if (!this.quietSince) this.quietSince = now;
    const speaking = loud || (this.speaking && this.sending && now - this.quietSince < SPEAKING_HOLD_MS);
    if (speaking !== this.speaking) {
      this.speaking = speaking;
      this.onChange();
    }
  }

  stop() {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    if (this.unlisten) this.unlisten();
    if (this.raw) for (const t of this.raw.getTracks()) t.stop();
    if (this.track) this.track.stop();
    if (this.ctx) this.ctx.close().catch(() => {});
    if (active === this) active = null;
  }
}
