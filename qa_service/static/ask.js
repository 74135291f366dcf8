// Asking: the question form, the streamed answer, and its citations or closest passages.

import { api, ApiError, clearError, describeProblem, showError } from "./api.js";
import { $, el, formatDate } from "./dom.js";
import { readEvents } from "./sse.js";
import { openDocument } from "./viewer.js";

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
      p.source || p.published_at
        ? el("span", { class: "passage-meta" },
            [p.source, p.published_at && formatDate(p.published_at)].filter(Boolean).join(" · "))
        : null,
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

export function initAsk() {
  $("ask-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const question = $("question").value.trim();
    if (question) ask(question);
  });
}
