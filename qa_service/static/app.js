// qa-service web page: ask (streamed answers with citations), browse, add, delete and summarize
// documents, follow feeds. Plain ES modules, no build step; this one wires them together:
//   dom.js helpers · api.js fetch, errors, API key · sse.js event streams · ask.js questions ·
//   viewer.js one document and its summary · documents.js the list and adding · feeds.js feeds

import { ApiError, clearError, initKeyForm } from "./api.js";
import { initAsk } from "./ask.js";
import { initDocuments, loadDocuments } from "./documents.js";
import { $ } from "./dom.js";
import { initFeeds, loadFeeds } from "./feeds.js";
import { initViewer } from "./viewer.js";

initKeyForm(() => loadDocuments());
initAsk();
initViewer();
initDocuments();
initFeeds();
$("error-close").addEventListener("click", clearError);

// The service may still be loading its models: retry the first listing for a while.
(async function start() {
  for (let attempt = 0; attempt < 20; attempt++) {
    const result = await loadDocuments();
    if (result === true) loadFeeds();
    if (result === true || !(result instanceof ApiError) || result.status !== 503) return;
    await new Promise((r) => setTimeout(r, 3000));
  }
})();
