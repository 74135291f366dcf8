// qa-service web page: ask (streamed answers with citations), browse, add, delete and summarize
// documents. Plain DOM code: all data is shown with textContent/createElement, never innerHTML.
"use strict";

const $ = (id) => document.getElementById(id);
const KEY_STORAGE = "qa-service.api-key";
const PAGE_SIZE = 50;

// ---------- small DOM helpers ----------

/** Create an element with attributes/properties and children (strings become text nodes). */
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v == null) continue;
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k in node && k !== "type") node[k] = v;
    else node.setAttribute(k, v);
  }
  node.append(...children.filter((c) => c != null && c !== false));
  return node;
}

function safeHref(url) {
  // Only http(s) links are made clickable (a javascript: URL in a document must not run).
  return typeof url === "string" && /^https?:\/\//i.test(url) ? url : null;
}

function plural(n, word) {
  return `${n.toLocaleString()} ${word}${n === 1 ? "" : "s"}`;
}

function formatDate(value) {
  if (!value) return null;
  const d = new Date(value);
  return isNaN(d) ? String(value) : d.toLocaleDateString();
}

// ---------- errors ----------

class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

/** A sentence a person understands, from an HTTP status and (maybe) an RFC 9457 problem body. */
function describeProblem(status, problem) {
  let detail = problem && typeof problem.detail === "string" ? problem.detail.trim() : "";
  if (detail.length > 400) detail = detail.slice(0, 400) + "…";
  const type = (problem && problem.type) || "";
  const withDetail = (prefix) => (detail ? `${prefix}: ${detail}` : `${prefix}.`);
  switch (status) {
    case 400:
    case 422:
      return withDetail("The request was not valid");
    case 401:
      return "An API key is needed (or the one given is not valid). Enter it at the top of the page.";
    case 403:
      return withDetail("This API key is not allowed to do that");
    case 404:
      return withDetail("Not found");
    case 413:
      return withDetail("That is too large for the service");
    case 429:
      return "Too many requests at once; wait a moment and try again.";
    case 503:
      return type.endsWith("/overloaded")
        ? "The service is busy; try again in a few seconds."
        : "The service is still starting; try again in a few seconds.";
    default:
      // Server errors carry a short, safe detail; anything else (e.g. a proxy page) is not shown.
      return status >= 500
        ? withDetail(`The service failed (error ${status})`)
        : withDetail(`The request failed (error ${status})`);
  }
}

function showError(err) {
  const message =
    err instanceof ApiError ? err.message : "Something went wrong in this page; reload it and try again.";
  if (!(err instanceof ApiError)) console.error(err);
  $("error-text").textContent = message;
  $("error").hidden = false;
}

function clearError() {
  $("error").hidden = true;
  $("error-text").textContent = "";
}

// ---------- API ----------

function authHeaders() {
  const key = localStorage.getItem(KEY_STORAGE);
  return key ? { Authorization: `Bearer ${key}` } : {};
}

/**
 * fetch() with the API key; resolves to the Response when it is OK, otherwise throws an ApiError
 * whose message is already readable. `json` is sent as a JSON body.
 */
async function api(path, { method = "GET", json, body, signal } = {}) {
  const headers = { Accept: "application/json, text/event-stream", ...authHeaders() };
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  }
  let res;
  try {
    res = await fetch(path, { method, headers, body, signal });
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw new ApiError("Cannot reach the service. Check that it is running, then try again.", 0);
  }
  if (res.ok) return res;
  let problem = null;
  if ((res.headers.get("Content-Type") || "").includes("json")) {
    problem = await res.json().catch(() => null);
  }
  if (res.status === 401) showKeyForm("The service needs an API key.");
  throw new ApiError(describeProblem(res.status, problem), res.status);
}

async function apiJson(path, options) {
  const res = await api(path, options);
  return res.status === 204 ? null : res.json();
}

/** Read a Server-Sent Events body; calls onEvent(name, data) per event (data parsed as JSON). */
async function readEvents(res, onEvent) {
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let name = "message";
  let data = [];
  for (;;) {
    const { value, done } = await reader.read();
    buffer += decoder.decode(value || new Uint8Array(), { stream: !done });
    const lines = buffer.split(/\r\n|\r|\n/);
    buffer = done ? "" : lines.pop(); // keep a partial last line for the next chunk
    for (const line of lines) {
      if (line === "") {
        if (data.length) onEvent(name, JSON.parse(data.join("\n")));
        name = "message";
        data = [];
      } else if (line.startsWith(":")) {
        // comment (keep-alive ping)
      } else {
        const i = line.indexOf(":");
        const field = i < 0 ? line : line.slice(0, i);
        let val = i < 0 ? "" : line.slice(i + 1);
        if (val.startsWith(" ")) val = val.slice(1);
        if (field === "event") name = val;
        else if (field === "data") data.push(val);
      }
    }
    if (done) break;
  }
  if (data.length) onEvent(name, JSON.parse(data.join("\n")));
}

// ---------- API key ----------

function showKeyForm(note, focus = true) {
  const form = $("key-form");
  const firstTime = form.hidden;
  form.hidden = false;
  $("api-key").value = localStorage.getItem(KEY_STORAGE) || "";
  $("key-note").textContent = note || "";
  if (firstTime && focus) $("api-key").focus();
}

$("key-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const key = $("api-key").value.trim();
  if (key) localStorage.setItem(KEY_STORAGE, key);
  else localStorage.removeItem(KEY_STORAGE);
  $("key-note").textContent = key ? "Key saved in this browser." : "Key removed.";
  clearError();
  loadDocuments();
});

$("key-forget").addEventListener("click", () => {
  localStorage.removeItem(KEY_STORAGE);
  $("api-key").value = "";
  $("key-note").textContent = "Key removed from this browser.";
});

// ---------- asking ----------

let askController = null;

/** Append answer text, turning [n] markers into links to the matching citation. */
function renderAnswer(container, text, citations) {
  container.replaceChildren();
  const byId = new Map((citations || []).map((c) => [c.id, c]));
  let last = 0;
  for (const m of text.matchAll(/\[(\d+)\]/g)) {
    const cite = byId.get(Number(m[1]));
    if (!cite) continue;
    container.append(text.slice(last, m.index));
    container.append(
      el("a", {
        href: `#citation-${cite.id}`,
        class: "marker",
        "aria-label": `Source ${cite.id}: ${cite.title || cite.doc_id}`,
        onclick: (e) => {
          e.preventDefault();
          openDocument(cite.doc_id, [cite]);
        },
      }, `[${cite.id}]`),
    );
    last = m.index + m[0].length;
  }
  container.append(text.slice(last));
}

/** One citation or related passage, as a button that opens its document at the quote. */
function passageItem(p, label) {
  return el("li", { id: p.id != null ? `citation-${p.id}` : null },
    el("button", {
      type: "button",
      class: "passage",
      onclick: () => openDocument(p.doc_id, [p]),
    },
      el("span", { class: "passage-title" }, label ? `${label} ` : "", p.title || p.doc_id),
      el("span", { class: "quote" }, `“${p.quote}”`),
    ),
  );
}

const GROUNDING = {
  generated: "Written by the model and checked against the sources",
  extractive: "Quoted from the sources",
};

function showResult(r) {
  renderAnswer($("answer"), r.answer, r.citations);
  const meta = [];
  if (r.short_answer) meta.push(`In short: “${r.short_answer.text}” [${r.short_answer.citation}]`);
  if (GROUNDING[r.grounding]) meta.push(`${GROUNDING[r.grounding]} (${r.grounding})`);
  if (r.timings_ms && r.timings_ms.total) meta.push(`${(r.timings_ms.total / 1000).toFixed(1)} s`);
  $("answer-meta").textContent = meta.join(" · ");
  $("citations").replaceChildren(...r.citations.map((c) => passageItem(c, `[${c.id}]`)));
  $("citations-box").hidden = r.citations.length === 0;
  const related = r.answerable ? [] : r.related || [];
  $("related").replaceChildren(...related.map((p) => passageItem(p)));
  $("related-box").hidden = related.length === 0;
}

async function ask(question) {
  if (askController) askController.abort();
  const controller = (askController = new AbortController());
  clearError();
  const answer = $("answer");
  const live = $("answer-live");
  $("answer-box").hidden = false;
  answer.replaceChildren();
  $("answer-meta").textContent = "";
  $("citations-box").hidden = true;
  $("related-box").hidden = true;
  $("answer-status").textContent = "Searching the articles…";
  live.setAttribute("aria-busy", "true");
  $("ask-button").textContent = "Asking…";
  let text = "";
  let finished = false;
  try {
    const res = await api("/ask", {
      method: "POST",
      json: { question, stream: true },
      signal: controller.signal,
    });
    await readEvents(res, (event, data) => {
      if (controller.signal.aborted) return;
      if (event === "delta") {
        text += data.text;
        answer.textContent = text;
        $("answer-status").textContent = "Answering…";
      } else if (event === "reset") {
        // The draft so far failed verification; what follows replaces it.
        text = "";
        answer.textContent = "";
        $("answer-status").textContent = "Checking the answer against the sources…";
      } else if (event === "citations") {
        showResult(data);
        finished = true;
      } else if (event === "error") {
        throw new ApiError(describeProblem(data.status, data), data.status);
      }
    });
    if (!finished) throw new ApiError("The answer stopped before it was complete; try again.", 0);
  } catch (e) {
    if (e.name === "AbortError" || controller.signal.aborted) return;
    if (!finished && !text) $("answer-box").hidden = true;
    showError(e);
  } finally {
    if (askController === controller) {
      askController = null;
      $("answer-status").textContent = "";
      live.setAttribute("aria-busy", "false");
      $("ask-button").textContent = "Ask";
    }
  }
}

$("ask-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const question = $("question").value.trim();
  if (question) ask(question);
});

// ---------- document viewer ----------

let currentDoc = null; // the document shown in the viewer

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

async function openDocument(docId, spans = []) {
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

function closeDocument() {
  currentDoc = null;
  $("viewer").hidden = true;
  document.body.classList.remove("has-viewer");
  $("doc-text").replaceChildren();
  $("question").focus();
}

$("doc-close").addEventListener("click", closeDocument);

$("summarize").addEventListener("click", async () => {
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
});

// ---------- document list ----------

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

async function loadDocuments(append = false) {
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

$("docs-more").addEventListener("click", () => loadDocuments(true));

/** Ask for confirmation in a modal <dialog>; resolves to true when confirmed. */
function confirmDialog(message, action = "Delete") {
  const dialog = $("confirm");
  $("confirm-text").textContent = message;
  dialog.querySelector("button[value=ok]").textContent = action;
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.returnValue = "cancel";
    dialog.showModal();
  });
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
    if (currentDoc && currentDoc.id === id) closeDocument();
    $("add-result").replaceChildren(el("p", {}, `Deleted “${name}”.`));
    await loadDocuments();
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

async function submitWith(form, send, show = showIngestResult) {
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  clearError();
  try {
    show(await send());
    form.reset();
    await loadDocuments();
  } catch (e) {
    showError(e);
  } finally {
    button.disabled = false;
  }
}

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

// ---------- articles from the web ----------

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

$("urls-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const urls = $("urls-text").value.split(/\s+/).filter(Boolean);
  if (!urls.length) return;
  submitWith(e.target, () => apiJson("/documents/urls", { method: "POST", json: { urls } }), showUrlResults);
});

// ---------- feeds ----------

const FEED_STATUS = {
  pending: "not checked yet",
  ok: "checked",
  not_modified: "checked, no change",
  error: "failing",
};

function formatTime(value) {
  const d = new Date(value);
  return isNaN(d) ? String(value) : d.toLocaleString();
}

function feedItem(f) {
  const name = f.title || f.url;
  const checked = f.last_fetch_at ? ` ${formatTime(f.last_fetch_at)}` : "";
  const meta = [
    `every ${f.interval_minutes} min`,
    `${FEED_STATUS[f.status] || f.status}${checked}`,
    `${plural(f.entries_ingested, "article")}`,
    f.entries_duplicate ? `${f.entries_duplicate} already stored` : null,
    f.entries_failed ? `${f.entries_failed} failed` : null,
  ]
    .filter(Boolean)
    .join(" · ");
  const href = safeHref(f.url);
  return el("li", { class: "doc", "data-id": f.id },
    el("div", { class: "doc-main" },
      el("span", { class: "feed-name" }, name),
      href ? el("a", { href, rel: "noopener noreferrer", target: "_blank", class: "meta" }, f.url) : null,
      el("span", { class: "meta" }, meta),
      f.last_error ? el("span", { class: "meta failed" }, f.last_error) : null,
    ),
    el("div", { class: "feed-actions" },
      el("button", {
        type: "button",
        class: "secondary",
        "aria-label": `Check ${name} now`,
        onclick: (e) => refreshFeed(f.id, e.currentTarget),
      }, "Check now"),
      el("button", {
        type: "button",
        class: "secondary danger-text",
        "aria-label": `Stop following ${name}`,
        onclick: () => removeFeed(f.id, name),
      }, "Remove"),
    ),
  );
}

async function loadFeeds() {
  try {
    const r = await apiJson("/feeds");
    $("feed-list").replaceChildren(...r.feeds.map(feedItem));
    $("feeds-count").textContent = r.total === 0 ? "No feeds followed yet." : plural(r.total, "feed");
  } catch (e) {
    showError(e);
  }
}

async function refreshFeed(id, button) {
  button.disabled = true;
  button.textContent = "Checking…";
  clearError();
  try {
    const f = await apiJson(`/feeds/${encodeURIComponent(id)}/refresh`, { method: "POST" });
    const outcome =
      f.status === "error" ? `failed: ${f.last_error}` : `${plural(f.entries_ingested, "article")} so far`;
    $("feed-result").replaceChildren(el("p", {}, `Checked “${f.title || f.url}”: ${outcome}.`));
    await Promise.all([loadFeeds(), loadDocuments()]);
  } catch (e) {
    showError(e);
    button.disabled = false;
    button.textContent = "Check now";
  }
}

async function removeFeed(id, name) {
  const opener = document.activeElement;
  const ok = await confirmDialog(`Stop following “${name}”? The articles it brought stay.`, "Remove");
  if (!ok) {
    if (opener) opener.focus();
    return;
  }
  clearError();
  try {
    await api(`/feeds/${encodeURIComponent(id)}`, { method: "DELETE" });
    $("feed-result").replaceChildren(el("p", {}, `Stopped following “${name}”.`));
    await loadFeeds();
    $("feeds-h").setAttribute("tabindex", "-1");
    $("feeds-h").focus();
  } catch (e) {
    showError(e);
  }
}

$("feed-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = e.target;
  const button = form.querySelector("button[type=submit]");
  const body = { url: $("feed-url").value.trim() };
  const minutes = Number($("feed-interval").value);
  if (minutes > 0) body.interval_minutes = minutes;
  button.disabled = true;
  clearError();
  try {
    const f = await apiJson("/feeds", { method: "POST", json: body });
    $("feed-result").replaceChildren(
      el("p", {}, `Following “${f.title || f.url}”; its articles are being added.`),
    );
    form.reset();
    await loadFeeds();
  } catch (err) {
    showError(err);
  } finally {
    button.disabled = false;
  }
});

// ---------- start ----------

$("error-close").addEventListener("click", clearError);

if (localStorage.getItem(KEY_STORAGE)) showKeyForm("", false);

// The service may still be loading its models: retry the first listing for a while.
(async function start() {
  for (let attempt = 0; attempt < 20; attempt++) {
    const result = await loadDocuments();
    if (result === true) loadFeeds();
    if (result === true || !(result instanceof ApiError) || result.status !== 503) return;
    await new Promise((r) => setTimeout(r, 3000));
  }
})();
