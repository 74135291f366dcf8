// qa-service web page: ask (streamed answers with citations), read stories (timelines, digest),
// browse, add, delete and summarize documents, follow feeds. Plain ES modules, no build step;
// this one wires them together:
//   dom.js helpers · api.js fetch, errors, API key · sse.js event streams · ask.js questions ·
//   viewer.js one document and its summary · stories.js the story list · story.js one story ·
//   digest.js what is new · documents.js the list and adding · feeds.js feeds

import { ApiError, clearError, initKeyForm } from "./api.js";
import { initAsk } from "./ask.js";
import { initDigest } from "./digest.js";
import { initDocuments, loadDocuments } from "./documents.js";
import { $ } from "./dom.js";
import { initFeeds, loadFeeds } from "./feeds.js";
import { initStories, loadStories } from "./stories.js";
import { initViewer } from "./viewer.js";

initKeyForm(async () => {
  if ((await loadDocuments()) === true) loadStories();
});
initAsk();
initViewer();
initStories();
initDigest();
initDocuments();
initFeeds();
$("error-close").addEventListener("click", clearError);

// The section links move the keyboard focus to the section's heading, not only the view.
for (const link of document.querySelectorAll(".site-nav a[data-heading]")) {
  link.addEventListener("click", (e) => {
    const heading = $(link.dataset.heading);
    e.preventDefault();
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: true });
    heading.scrollIntoView({ block: "start", behavior: "smooth" });
  });
}

// The service may still be loading its models: retry the first listing for a while.
(async function start() {
  for (let attempt = 0; attempt < 20; attempt++) {
    const result = await loadDocuments();
    if (result === true) {
      loadFeeds();
      loadStories();
    }
    if (result === true || !(result instanceof ApiError) || result.status !== 503) return;
    await new Promise((r) => setTimeout(r, 3000));
  }
})();
