// The document list: paging, deleting, and adding documents (pasted text, files, URLs).

import { api, apiJson, clearError, showError, submitForm } from "./api.js";
import { $, confirmDialog, el, formatDate, plural } from "./dom.js";
import { loadStories } from "./stories.js";
import { closeDocument, currentDocumentId, openDocument } from "./viewer.js";

const PAGE_SIZE = 50;

let nextOffset = 0;

function docItem(d) {
  const name = d.title || d.id;
  const meta = [
    d.source,
    formatDate(d.published_at),
    plural(d.chunks, "chunk"),
    plural(d.chars, "character"),
  ]
    .filter(Boolean)
    .join(" · ");
  return el("li", { class: "doc", "data-id": d.id },
    el("div", { class: "doc-main" },
      el("button", { type: "button", class: "link", onclick: () => openDocument(d.id) }, name),
      el("span", { class: "meta" }, meta),
    ),
    el("button", {
      type: "button",
      class: "secondary danger-text",
      "aria-label": `Delete ${name}`,
      onclick: () => deleteDocument(d.id, name),
    }, "Delete"),
  );
}

/** (Re)load the list, or its next page; resolves to true, or to the error it has shown. */
export async function loadDocuments(append = false) {
  const offset = append ? nextOffset : 0;
  try {
    const r = await apiJson(`/documents?limit=${PAGE_SIZE}&offset=${offset}`);
    const list = $("doc-list");
    if (!append) list.replaceChildren();
    list.append(...r.documents.map(docItem));
    $("docs-count").textContent =
      r.total === 0 ? "No documents yet: add some below." : plural(r.total, "document");
    nextOffset = r.next_offset;
    $("docs-more").hidden = r.next_offset == null;
    return true;
  } catch (e) {
    showError(e);
    return e;
  }
}

async function deleteDocument(id, name) {
  const opener = document.activeElement;
  if (!(await confirmDialog(`Delete “${name}”? It will no longer be used in answers.`))) {
    if (opener) opener.focus();
    return;
  }
  clearError();
  try {
    await api(`/documents/${encodeURIComponent(id)}`, { method: "DELETE" });
    if (currentDocumentId() === id) closeDocument();
    $("add-result").replaceChildren(el("p", {}, `Deleted “${name}”.`));
    await Promise.all([loadDocuments(), loadStories()]);
    $("docs-h").setAttribute("tabindex", "-1");
    $("docs-h").focus();
  } catch (e) {
    showError(e);
  }
}

// ---------- adding documents ----------

const STATUS_WORDS = { created: "added", updated: "updated", unchanged: "unchanged (already stored)" };

function showIngestResult(r) {
  const items = r.documents.map((d) =>
    el("li", {}, `${d.id}: ${STATUS_WORDS[d.status] || d.status}, ${plural(d.chunks, "chunk")}`),
  );
  const failed = (r.failed || []).map((f) =>
    el("li", { class: "failed" }, `${f.filename}: not added: ${f.reason}`),
  );
  const counts = `${plural(r.documents.length, "document")} processed`;
  $("add-result").replaceChildren(
    el("p", {}, failed.length ? `${counts}, ${failed.length} failed.` : `${counts}.`),
    el("ul", {}, ...items, ...failed),
  );
}

function showUrlResults(r) {
  const items = r.results.map((x) => {
    if (x.status === "failed") return el("li", { class: "failed" }, `${x.url}: not added: ${x.reason}`);
    const what = x.duplicate_of
      ? `already stored (${x.duplicate_of})`
      : STATUS_WORDS[x.status] || x.status;
    const copy = x.near_duplicate_of ? `; another outlet's copy of ${x.near_duplicate_of}` : "";
    return el("li", {}, `${x.title || x.url}: ${what}${copy}`);
  });
  const failed = r.results.filter((x) => x.status === "failed").length;
  const counts = `${plural(r.results.length, "URL")} processed`;
  $("add-result").replaceChildren(
    el("p", {}, failed ? `${counts}, ${failed} failed.` : `${counts}.`),
    el("ul", {}, ...items),
  );
}

function submitWith(form, send, show = showIngestResult) {
  return submitForm(form, send, show, () => Promise.all([loadDocuments(), loadStories()]));
}

export function initDocuments() {
  $("docs-more").addEventListener("click", () => loadDocuments(true));

  $("paste-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const doc = { text: $("paste-text").value };
    const title = $("paste-title").value.trim();
    const url = $("paste-url").value.trim();
    if (title) doc.title = title;
    if (url) doc.url = url;
    submitWith(e.target, () => apiJson("/documents", { method: "POST", json: { documents: [doc] } }));
  });

  $("upload-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const data = new FormData();
    for (const file of $("upload-files").files) data.append("files", file, file.name);
    submitWith(e.target, () => apiJson("/documents/files", { method: "POST", body: data }));
  });

  $("urls-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const urls = $("urls-text").value.split(/\s+/).filter(Boolean);
    if (!urls.length) return;
    submitWith(e.target, () => apiJson("/documents/urls", { method: "POST", json: { urls } }), showUrlResults);
  });
}
