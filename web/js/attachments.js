// Files on messages: images inline (a thumbnail the size of its box),
// video and sound with the browser's controls, anything else as a download
// card; a click on an image opens it large in a lightbox.
//
// Attachment links are absolute and signed, and may name another origin
// than the page's (the server's public URL, or its listen address): only
// their path and query are used, so every file comes from the page's own
// origin, which is all the Content-Security-Policy allows.

import { $, h, icon } from "./dom.js";

/** The largest box an image takes in a message, in CSS pixels. */
const BOX = { width: 400, height: 300 };

/** `url` as a path and query on the page's own origin. */
export function localPath(url) {
  const u = new URL(url, location.origin);
  return u.pathname + u.search;
}

/** "512 B", "1.4 KB", "23 MB": sizes as people read them (1 KB = 1024 B). */
export function formatSize(bytes) {
  const units = ["B", "KB", "MB", "GB"];
  let n = bytes;
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
  return `${i === 0 || n >= 10 ? Math.round(n) : n.toFixed(1)} ${units[i]}`;
}

/** `width` × `height` scaled down (never up) to fit in `maxW` × `maxH`. */
export function fit(width, height, maxW, maxH) {
  const scale = Math.min(1, maxW / width, maxH / height);
  return [Math.max(1, Math.round(width * scale)), Math.max(1, Math.round(height * scale))];
}

/** What an attachment is shown as, from the type the server sniffed. */
function kindOf(a) {
  const type = (a.content_type || "").split(";")[0].trim();
  if (type.startsWith("image/")) return "image";
  if (type.startsWith("video/")) return "video";
  if (type.startsWith("audio/")) return "audio";
  return "file";
}

/**
 * The image at `w` × `h` CSS pixels: a thumbnail the server makes at the
 * screen's pixel density, or the file itself when that would be no smaller
 * (or it is a GIF, whose thumbnail would be its first frame only).
 */
function imageSrc(a, w, h) {
  const src = localPath(a.proxy_url || a.url);
  if (!w || !a.width || (a.content_type || "").startsWith("image/gif")) return src;
  const dpr = Math.min(window.devicePixelRatio || 1, 2);
  const [tw, th] = [Math.ceil(w * dpr), Math.ceil(h * dpr)];
  if (tw >= a.width && th >= a.height) return src;
  return `${src}${src.includes("?") ? "&" : "?"}width=${tw}&height=${th}`;
}

const altOf = (a) => a.description || a.filename;

function downloadCard(a) {
  const href = localPath(a.url);
  return h("div.attachment.attachment-file", { role: "group", "aria-label": `File ${a.filename}`, dataset: { id: a.id } },
    icon("file"),
    h("div.attachment-meta", {},
      h("a.attachment-name", { href, download: a.filename, title: a.description || a.filename }, a.filename),
      h("span.attachment-size", {}, formatSize(a.size))),
    h("a.attachment-download", { href, download: a.filename, "aria-label": `Download ${a.filename}`, title: "Download" }, icon("download")));
}

function imageNode(a) {
  const [w, ht] = a.width && a.height ? fit(a.width, a.height, BOX.width, BOX.height) : [null, null];
  const img = h("img", { src: imageSrc(a, w, ht), alt: altOf(a), width: w, height: ht, loading: "lazy", decoding: "async" });
  // A link to the file, so a middle click or "open in new tab" still works;
  // a plain click opens the lightbox instead.
  const link = h("a.attachment.attachment-image", { href: localPath(a.url), target: "_blank", rel: "noopener noreferrer", dataset: { id: a.id } }, img);
  link.addEventListener("click", (e) => {
    if (e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    openLightbox(a, link);
  });
  // An image the browser cannot show (an expired link, a format it does
  // not read) is still offered as a file.
  img.addEventListener("error", () => { if (link.isConnected) link.replaceWith(downloadCard(a)); }, { once: true });
  return link;
}

function mediaNode(a, kind) {
  const player = h(kind, { controls: true, preload: "metadata", src: localPath(a.url), "aria-label": altOf(a) });
  if (kind === "audio") {
    const card = downloadCard(a);
    card.classList.add("attachment-audio");
    card.append(player);
    return card;
  }
  return h("figure.attachment.attachment-video", { dataset: { id: a.id } }, player,
    h("figcaption", {}, h("a", { href: localPath(a.url), download: a.filename, "aria-label": `Download ${a.filename}` }, a.filename),
      " ", h("span.attachment-size", {}, formatSize(a.size))));
}

/** The attachments of a message, or null when it has none. */
export function renderAttachments(m) {
  const list = m.attachments || [];
  if (!list.length) return null;
  return h("div.attachments", {}, list.map((a) => {
    const kind = kindOf(a);
    if (kind === "image") return imageNode(a);
    if (kind === "video" || kind === "audio") return mediaNode(a, kind);
    return downloadCard(a);
  }));
}

/** A message's files as text, for previews: "📎 cat.png, notes.txt". */
export function attachmentsText(m) {
  const list = m.attachments || [];
  return list.length ? `📎 ${list.map((a) => a.filename).join(", ")}` : "";
}

// ---- the lightbox ----

/** What had focus before the lightbox opened, and gets it back after. */
let returnTo = null;
let returnId = null;
let wired = false;

function wireLightbox() {
  if (wired) return;
  wired = true;
  const dlg = $("lightbox");
  $("lightbox-close").addEventListener("click", () => dlg.close());
  // A click anywhere but on a link or the caption closes it (Escape does
  // too: the dialog's own cancel).
  dlg.addEventListener("click", (e) => {
    if (!e.target.closest("a, button, figcaption")) dlg.close();
  });
  dlg.addEventListener("close", () => {
    $("lightbox-image").removeAttribute("src");
    // The message may have been drawn anew while the lightbox was open.
    const back = returnTo && returnTo.isConnected ? returnTo
      : document.querySelector(`#message-list .attachment[data-id="${returnId}"]`) || $("composer-input");
    returnTo = null;
    if (back) back.focus();
  });
}

/** Shows an image large, with its alt text and a link to the original. */
export function openLightbox(a, opener) {
  wireLightbox();
  const dlg = $("lightbox");
  const img = $("lightbox-image");
  returnTo = opener || document.activeElement;
  returnId = a.id;
  let w = null;
  let ht = null;
  if (a.width && a.height) [w, ht] = fit(a.width, a.height, window.innerWidth * 0.92, window.innerHeight * 0.8);
  // Sized before it loads, so it does not grow from nothing.
  img.style.width = w ? `${w}px` : "";
  img.style.height = ht ? `${ht}px` : "";
  img.src = imageSrc(a, w, ht);
  img.alt = altOf(a);
  $("lightbox-title").textContent = altOf(a);
  $("lightbox-file").textContent = a.description ? `${a.filename} · ${formatSize(a.size)}` : formatSize(a.size);
  $("lightbox-original").href = localPath(a.url);
  dlg.showModal();
  $("lightbox-close").focus();
}
