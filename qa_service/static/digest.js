// The digest: the stories that gained articles since a time (the last 24 hours unless chosen),
// each with what is new since then, quoted.

import { apiJson, clearError, showError } from "./api.js";
import { $, el, formatTime, plural } from "./dom.js";
import { articleItem, countStories, openStory, sentenceItem } from "./story.js";

/** The form's `since`: a span ("24h") or the chosen local date and time in RFC 3339 (UTC). */
function sinceValue() {
  const span = $("digest-span").value;
  if (span !== "at") return span;
  const d = new Date($("digest-at").value); // datetime-local: no zone, read as local time
  return isNaN(d) ? null : d.toISOString();
}

function digestItem(s) {
  const name = s.title || s.id;
  return el("li", { class: "story-item", "data-id": s.id },
    el("h4", { class: "story-name" },
      el("button", { type: "button", class: "link", onclick: () => openStory(s.id) }, name)),
    el("p", { class: "meta" },
      [s.sources.join(", "), plural(s.articles.length, "new article")].filter(Boolean).join(" · ")),
    s.new.length
      ? el("ol", { class: "passages", "aria-label": `New in ${name}` }, ...s.new.map(sentenceItem))
      : el("p", { class: "note" }, "Its new articles repeat what was already reported."),
    el("details", {},
      el("summary", {}, `Its new articles (${s.articles.length})`),
      el("ul", { class: "doc-list" }, ...s.articles.map(articleItem)),
    ),
  );
}

async function runDigest(e) {
  e.preventDefault();
  const since = sinceValue();
  if (!since) return;
  const button = $("digest-form").querySelector("button[type=submit]");
  button.disabled = true;
  button.textContent = "Looking…";
  clearError();
  try {
    const r = await apiJson("/digest", { method: "POST", json: { since } });
    const when = formatTime(r.since);
    $("digest-status").textContent = r.stories.length
      ? `${countStories(r.stories.length)} with news since ${when}.`
      : `Nothing new since ${when}.`;
    $("digest-list").replaceChildren(...r.stories.map(digestItem));
  } catch (err) {
    showError(err);
  } finally {
    button.disabled = false;
    button.textContent = "Show what is new";
  }
}

function toggleAt() {
  const at = $("digest-span").value === "at";
  $("digest-at-row").hidden = !at;
  $("digest-at").required = at;
}

export function initDigest() {
  $("digest-form").addEventListener("submit", runDigest);
  $("digest-span").addEventListener("change", toggleAt);
  toggleAt();
}
