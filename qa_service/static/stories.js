// The story list: stories by their latest article (title, outlets, date span and the cited
// summary), paged with next_offset. The "Stories" link of the page's menu opens it afresh.

import { ApiError, apiJson, showError } from "./api.js";
import { $, el } from "./dom.js";
import { closeStory, countStories, initStory, openStory, sentenceItem, storyMeta } from "./story.js";

const PAGE_SIZE = 20;

let nextOffset = 0;

function storyItem(s) {
  const name = s.title || s.id;
  return el("li", { class: "story-item", "data-id": s.id },
    el("h3", { class: "story-name" },
      el("button", { type: "button", class: "link", onclick: () => openStory(s.id) }, name)),
    el("p", { class: "meta" }, storyMeta(s)),
    s.summary.length
      ? el("ol", { class: "passages", "aria-label": `Summary of ${name}` }, ...s.summary.map(sentenceItem))
      : null,
  );
}

/** (Re)load the list, or its next page; resolves to true, or to the error it has shown. */
export async function loadStories(append = false) {
  const offset = append ? nextOffset : 0;
  try {
    const r = await apiJson(`/stories?limit=${PAGE_SIZE}&offset=${offset}`);
    const list = $("story-list");
    if (!append) list.replaceChildren();
    const items = r.stories.map(storyItem);
    list.append(...items);
    $("stories-count").textContent =
      r.total === 0 ? "No stories yet: they appear as articles are added." : countStories(r.total);
    nextOffset = r.next_offset;
    $("stories-more").hidden = r.next_offset == null;
    $("digest-box").hidden = false;
    if (append && items.length) items[0].querySelector("button").focus();
    return true;
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      // Stories are off on this server (QA_STORIES=false): say so here, not as an error.
      $("story-list").replaceChildren();
      $("stories-count").textContent = e.message;
      $("stories-more").hidden = true;
      $("digest-box").hidden = true;
    } else showError(e);
    return e;
  }
}

export function initStories() {
  initStory();
  $("stories-more").addEventListener("click", () => loadStories(true));
  $("nav-stories").addEventListener("click", () => {
    closeStory(false);
    loadStories();
  });
}
