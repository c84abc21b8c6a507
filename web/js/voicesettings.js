// The user settings' "Voice & video" section: input and output devices,
// the input volume with a live level meter, the microphone's processing
// (echo cancellation, noise suppression, automatic gain), and the input
// mode (voice activity, or push to talk with its key). Every change is
// saved at once (mic.js keeps them) and applies to a call in progress: the
// chain swaps its source, or its gain, without touching the sent track.

import { h } from "./dom.js";
import { Mic, activeMic, onVoicePrefs, saveVoicePrefs, voicePrefs } from "./mic.js";
import { captureKey, keyLabel } from "./ptt.js";
import { field } from "./settings.js";

/** The microphone the meter reads when no call has one: opened for the section, closed once it is gone. */
let preview = null;
let meterTimer = null;

const canChooseOutput = () => "setSinkId" in HTMLMediaElement.prototype;

async function fillDevices(input, output) {
  let devices = [];
  try {
    devices = await navigator.mediaDevices.enumerateDevices();
  } catch {
    return;
  }
  const prefs = voicePrefs();
  const options = (kind, chosen) => [
    h("option", { value: "", selected: !chosen }, "Default"),
    ...devices.filter((d) => d.kind === kind && d.deviceId && d.deviceId !== "default").map((d, i) =>
      h("option", { value: d.deviceId, selected: d.deviceId === chosen }, d.label || `${kind === "audioinput" ? "Microphone" : "Speaker"} ${i + 1}`)),
  ];
  input.replaceChildren(...options("audioinput", prefs.input));
  if (output) output.replaceChildren(...options("audiooutput", prefs.output));
}

function stopPreview() {
  clearInterval(meterTimer);
  meterTimer = null;
  if (preview) { preview.stop(); preview = null; }
}

/** Keeps the meter moving while it is on screen; the call's microphone, or a preview of its own. */
function runMeter(meter, bar, status) {
  stopPreview();
  let starting = false;
  meterTimer = setInterval(() => {
    if (!meter.isConnected) { stopPreview(); return; }
    const call = activeMic();
    if (call && preview) { preview.stop(); preview = null; }
    const mic = call || preview;
    if (!mic && !starting) {
      starting = true;
      const m = new Mic();
      m.start().then(() => {
        if (!meter.isConnected || !meterTimer) { m.stop(); return; }
        preview = m;
        status.textContent = "";
        // With the microphone allowed, the devices have their names.
        meter.dispatchEvent(new Event("devices"));
      }, (err) => {
        status.textContent = `The microphone could not be opened${err && err.name === "NotAllowedError" ? ": access was refused" : ""}.`;
      });
    }
    const v = mic ? mic.level() : 0;
    meter.setAttribute("aria-valuenow", String(v));
    meter.setAttribute("aria-valuetext", `${v}%`);
    bar.style.width = `${v}%`;
  }, 100);
}

const switchRow = (id, label, checked, onchange, hint) => [
  h("div.switch-row", {},
    h("input", { type: "checkbox", role: "switch", id, checked, onchange, "aria-describedby": hint ? `${id}-hint` : undefined }),
    h("label", { for: id }, label)),
  hint ? h("p.hint", { id: `${id}-hint` }, hint) : null,
];

/** The push-to-talk key: a button that, pressed, takes the next key. */
function keyButton() {
  const prefs = voicePrefs();
  const button = h("button.small", { type: "button", id: "ptt-key" });
  const show = (p = voicePrefs()) => {
    button.textContent = p.pttKey ? `Key: ${p.pttLabel || p.pttKey} — Change` : "Set a key";
    button.setAttribute("aria-label", p.pttKey ? `Push-to-talk key: ${p.pttLabel || p.pttKey}. Change it` : "Push-to-talk key: none. Set a key");
  };
  show(prefs);
  const take = (e) => {
    e.preventDefault();
    e.stopPropagation();
    stop();
    if (e.key === "Escape") { show(); return; }
    saveVoicePrefs({ pttKey: e.code, pttLabel: keyLabel(e) });
    show();
  };
  const stop = () => {
    captureKey(false);
    button.removeEventListener("keydown", take, true);
    button.removeEventListener("blur", cancel);
    button.setAttribute("aria-pressed", "false");
  };
  const cancel = () => { stop(); show(); };
  button.addEventListener("click", () => {
    if (button.getAttribute("aria-pressed") === "true") return;
    captureKey(true);
    button.setAttribute("aria-pressed", "true");
    button.textContent = "Press a key… (Escape cancels)";
    // Keys go to the focused button: catch them there, before anything else.
    button.addEventListener("keydown", take, true);
    button.addEventListener("blur", cancel);
  });
  return button;
}

export function voiceSection() {
  const prefs = voicePrefs();
  const input = h("select", { id: "voice-input", onchange: (e) => saveVoicePrefs({ input: e.target.value }) }, h("option", { value: "" }, "Default"));
  const output = canChooseOutput()
    ? h("select", { id: "voice-output", onchange: (e) => saveVoicePrefs({ output: e.target.value }) }, h("option", { value: "" }, "Default"))
    : null;
  fillDevices(input, output);
  const gainOut = h("output", { id: "voice-gain-value", for: "voice-gain" }, `${prefs.gain}%`);
  const gain = h("input", {
    type: "range", id: "voice-gain", min: 0, max: 200, step: 5, value: prefs.gain, "aria-valuetext": `${prefs.gain}%`,
    oninput: (e) => {
      const v = Number(e.target.value);
      saveVoicePrefs({ gain: v });
      e.target.setAttribute("aria-valuetext", `${v}%`);
      gainOut.textContent = `${v}%`;
    },
  });
  const bar = h("span.meter-bar");
  const meter = h("div.meter", {
    id: "voice-meter", role: "meter", "aria-label": "Input level", "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": "0",
  }, bar);
  const meterStatus = h("p.hint", { id: "voice-meter-status", "aria-live": "polite" });
  meter.addEventListener("devices", () => fillDevices(input, output));
  runMeter(meter, bar, meterStatus);

  const mode = [["vad", "Voice activity"], ["ptt", "Push to talk"]].map(([value, label]) => h("label.choice", {},
    h("input", { type: "radio", name: "voice-mode", value, checked: prefs.mode === value, onchange: () => saveVoicePrefs({ mode: value }) }),
    label));
  const key = keyButton();
  const keyRow = h("div.row", { id: "ptt-key-row", hidden: prefs.mode !== "ptt" }, key,
    h("span.hint", {}, "Hold it to talk; let go to stop. Ignored while typing."));
  const unlisten = onVoicePrefs((p) => {
    if (!keyRow.isConnected) { unlisten(); return; }
    keyRow.hidden = p.mode !== "ptt";
  });
  if (navigator.mediaDevices && navigator.mediaDevices.addEventListener) {
    const changed = () => { if (input.isConnected) fillDevices(input, output); else navigator.mediaDevices.removeEventListener("devicechange", changed); };
    navigator.mediaDevices.addEventListener("devicechange", changed);
  }

  return h("section.settings-section", { "aria-labelledby": "voice-title" },
    h("h3", { id: "voice-title" }, "Voice & video"),
    h("p.hint", {}, "Kept in this browser. Changes apply at once, to a call in progress too."),
    field("Input device", input),
    output ? field("Output device", output) : h("p.hint", {}, "This browser plays calls through its default output device."),
    field("Input volume", gain), gainOut,
    h("p.label-like", { "aria-hidden": "true" }, "Input level"),
    meter, meterStatus,
    h("h4", {}, "Processing"),
    switchRow("voice-echo", "Echo cancellation", prefs.echoCancellation, (e) => saveVoicePrefs({ echoCancellation: e.target.checked })),
    switchRow("voice-noise", "Noise suppression", prefs.noiseSuppression, (e) => saveVoicePrefs({ noiseSuppression: e.target.checked })),
    switchRow("voice-agc", "Automatic gain control", prefs.autoGainControl, (e) => saveVoicePrefs({ autoGainControl: e.target.checked }),
      "Evens out how loud you are. Turn it off to set the input volume yourself."),
    h("h4", { id: "voice-mode-title" }, "Input mode"),
    h("div.row", { role: "radiogroup", "aria-labelledby": "voice-mode-title" }, mode),
    keyRow);
}
