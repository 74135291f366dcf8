// One story: its timeline (each development quoted; a quote opens the article at that span) and
// every outlet's article or copy. Also the pieces the story list and the digest share.

import { apiJson, clearError, showError } from "./api.js";
import { $, el, formatDate, plural, safeHref } from "./dom.js";
import { openDocument } from "./viewer.js";

let opener = null; // what opened the story, to return the focus to

export function countStories(n) {
  return n === 1 ? "1 story" : `${n.toLocaleString()} stories`;
}

/** A <time> with a short local date and time ("Mar 4, 2024, 8:00 AM"). */
export function timeEl(value) {
  const d = new Date(value);
  const text = isNaN(d)
    ? String(value)
    : d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  return el("time", { dateTime: value }, text);
}

function dateSpan(first, last) {
  const a = formatDate(first);
  const b = formatDate(last);
  return a === b ? a : `${a} – ${b}`;
}

/** Outlets · date span · articles, for a story of the list or the open one. */
export function storyMeta(s) {
  const span = dateSpan(s.first_published, s.last_published);
  return [s.sources.join(", "), span, plural(s.articles.length, "article")].filter(Boolean).join(" · ");
}

/** A quoted sentence (date, outlet, quote) as a button that opens its article at the quote. */
export function sentenceItem(s) {
  return el("li", {},
    el("button", { type: "button", class: "passage", onclick: () => openDocument(s.doc_id, [s]) },
      el("span", { class: "passage-title" }, timeEl(s.published_at), ` · ${s.source || s.title || s.doc_id}`),
      el("span", { class: "quote" }, `“${s.quote}”`),
    ),
  );
}

/** An article or an outlet's copy of one: outlet, title (opens the text), date, URL. */
export function articleItem(a) {
  const href = safeHref(a.url);
  const when = [formatDate(a.published_at), a.copy_of_stored ? "a copy of the same text" : null];
  return el("li", { class: "doc" },
    el("div", { class: "doc-main" },
      el("span", { class: "feed-name" }, a.source || "Unknown outlet"),
      el("button", { type: "button", class: "link", onclick: () => openDocument(a.doc_id) },
        a.title || a.doc_id),
      el("span", { class: "meta" }, when.filter(Boolean).join(" · ")),
      href
        ? el("a", { href, rel: "noopener noreferrer", target: "_blank", class: "meta" },
          a.url, el("span", { class: "visually-hidden" }, " (opens in a new tab)"))
        : a.url && el("span", { class: "meta" }, a.url),
    ),
  );
}

export async function openStory(id) {
  const from = document.activeElement;
  clearError();
  try {
    const s = await apiJson(`/stories/${encodeURIComponent(id)}`);
    opener = from;
    $("story-title").textContent = s.title || s.id;
    $("story-meta").textContent = storyMeta(s);
    $("story-timeline").replaceChildren(...s.timeline.map(sentenceItem));
    $("story-articles").replaceChildren(...s.articles.map(articleItem));
    $("story-list-box").hidden = true;
    $("story").hidden = false;
    $("story-title").focus({ preventScroll: true });
    $("story").scrollIntoView({ block: "start", behavior: "smooth" });
  } catch (e) {
    showError(e);
  }
}

/** Back to the list; the focus returns to what opened the story (when `refocus`). */
export function closeStory(refocus = true) {
  $("story").hidden = true;
  $("story-list-box").hidden = false;
  const back = opener;
  opener = null;
  if (!refocus) return;
  if (back && back.isConnected && back.offsetParent !== null) back.focus();
  else $("stories-h").focus();
}

export function initStory() {
  $("story-back").addEventListener("click", () => closeStory());
}
