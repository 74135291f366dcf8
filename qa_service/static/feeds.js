// Followed RSS/Atom feeds: list, follow, check now, stop following.

import { api, apiJson, clearError, showError, submitForm } from "./api.js";
import { loadDocuments } from "./documents.js";
import { $, confirmDialog, el, formatTime, plural, safeHref } from "./dom.js";
import { loadStories } from "./stories.js";

const FEED_STATUS = {
  pending: "not checked yet",
  ok: "checked",
  not_modified: "checked, no change",
  error: "failing",
};

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

export async function loadFeeds() {
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
    await Promise.all([loadFeeds(), loadDocuments(), loadStories()]);
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

function followFeed(e) {
  e.preventDefault();
  const body = { url: $("feed-url").value.trim() };
  const minutes = Number($("feed-interval").value);
  if (minutes > 0) body.interval_minutes = minutes;
  const show = (f) =>
    $("feed-result").replaceChildren(
      el("p", {}, `Following “${f.title || f.url}”; its articles are being added.`),
    );
  const send = () => apiJson("/feeds", { method: "POST", json: body });
  return submitForm(e.target, send, show, loadFeeds);
}

export function initFeeds() {
  $("feed-form").addEventListener("submit", followFeed);
}
