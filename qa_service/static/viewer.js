// The document viewer: one document's text with quoted spans marked, and its summary.

import { apiJson, clearError, showError } from "./api.js";
import { $, el, formatDate, safeHref } from "./dom.js";

let currentDoc = null; // the document shown in the viewer

/** The id of the document shown in the viewer, or null. */
export function currentDocumentId() {
  return currentDoc ? currentDoc.id : null;
}

/** Text nodes, each line break followed by a small gap so paragraphs stand apart. */
function withBreaks(str) {
  const nodes = [];
  str.split("\n").forEach((line, i) => {
    if (i) nodes.push(el("span", { class: "br" }, "\n"));
    if (line) nodes.push(line);
  });
  return nodes;
}

/** Show the text with each {start, end} span marked; scroll the first mark into view. */
function renderText(text, spans) {
  const box = $("doc-text");
  box.replaceChildren();
  const sorted = spans
    .filter((s) => Number.isInteger(s.start) && s.end > s.start)
    .sort((a, b) => a.start - b.start);
  let pos = 0;
  for (const s of sorted) {
    const start = Math.max(s.start, pos);
    if (s.end <= start) continue; // overlaps the previous mark
    const marked = el("mark", {}, ...withBreaks(text.slice(start, s.end)));
    box.append(...withBreaks(text.slice(pos, start)), marked);
    pos = s.end;
  }
  box.append(...withBreaks(text.slice(pos)));
  const first = box.querySelector("mark");
  if (first) first.scrollIntoView({ block: "center", behavior: "smooth" });
}

export async function openDocument(docId, spans = []) {
  clearError();
  try {
    if (!currentDoc || currentDoc.id !== docId) {
      const doc = await apiJson(`/documents/${encodeURIComponent(docId)}`);
      currentDoc = doc;
      $("doc-title").textContent = doc.title || doc.id;
      const meta = $("doc-meta");
      meta.replaceChildren();
      const parts = [doc.source, formatDate(doc.published_at), `id ${doc.id}`].filter(Boolean);
      meta.append(parts.join(" · "));
      if (doc.url) {
        const href = safeHref(doc.url);
        const link = href && el("a", { href, rel: "noopener noreferrer", target: "_blank" }, doc.url);
        meta.append(" · ", link || doc.url);
      }
      $("summary-box").hidden = true;
      $("summary").replaceChildren();
    }
    $("viewer").hidden = false;
    document.body.classList.add("has-viewer");
    $("doc-title").focus({ preventScroll: true });
    if (!spans.length) $("viewer").scrollIntoView({ block: "start", behavior: "smooth" });
    renderText(currentDoc.text, spans);
  } catch (e) {
    showError(e);
  }
}

export function closeDocument() {
  currentDoc = null;
  $("viewer").hidden = true;
  document.body.classList.remove("has-viewer");
  $("doc-text").replaceChildren();
  $("question").focus();
}

async function summarize() {
  if (!currentDoc) return;
  const button = $("summarize");
  const doc = currentDoc;
  button.disabled = true;
  button.textContent = "Summarizing…";
  clearError();
  try {
    const r = await apiJson("/summarize", { method: "POST", json: { doc_id: doc.id } });
    if (currentDoc !== doc) return;
    $("summary-mode").textContent = `(${r.mode})`;
    $("summary").replaceChildren(
      ...r.sentences.map((s) =>
        el("li", {},
          el("button", {
            type: "button",
            class: "sentence",
            onclick: () => {
              const cites = s.citations.filter((c) => c.doc_id != null);
              const other = cites.find((c) => c.doc_id !== currentDoc.id);
              if (other) openDocument(other.doc_id, cites.filter((c) => c.doc_id === other.doc_id));
              else renderText(currentDoc.text, cites);
            },
          }, s.text),
        ),
      ),
    );
    $("summary-box").hidden = false;
  } catch (e) {
    showError(e);
  } finally {
    button.disabled = false;
    button.textContent = "Summarize";
  }
}

export function initViewer() {
  $("doc-close").addEventListener("click", closeDocument);
  $("summarize").addEventListener("click", summarize);
}
