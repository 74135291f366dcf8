// Talking to the service: fetch with the API key, readable errors, and the API key form.

import { $ } from "./dom.js";

export const KEY_STORAGE = "qa-service.api-key";

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

/** A sentence a person understands, from an HTTP status and (maybe) an RFC 9457 problem body. */
export function describeProblem(status, problem) {
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

export function showError(err) {
  const message =
    err instanceof ApiError ? err.message : "Something went wrong in this page; reload it and try again.";
  if (!(err instanceof ApiError)) console.error(err);
  $("error-text").textContent = message;
  $("error").hidden = false;
}

export function clearError() {
  $("error").hidden = true;
  $("error-text").textContent = "";
}

/**
 * A form's request: its submit button is disabled meanwhile; on success `show(result)`, the form
 * is cleared and `reload()` refreshes the list it adds to; a failure is shown in the error bar.
 */
export async function submitForm(form, send, show, reload) {
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  clearError();
  try {
    show(await send());
    form.reset();
    await reload();
  } catch (e) {
    showError(e);
  } finally {
    button.disabled = false;
  }
}

function authHeaders() {
  const key = localStorage.getItem(KEY_STORAGE);
  return key ? { Authorization: `Bearer ${key}` } : {};
}

/**
 * fetch() with the API key; resolves to the Response when it is OK, otherwise throws an ApiError
 * whose message is already readable. `json` is sent as a JSON body.
 */
export async function api(path, { method = "GET", json, body, signal } = {}) {
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

export async function apiJson(path, options) {
  const res = await api(path, options);
  return res.status === 204 ? null : res.json();
}

// ---------- API key ----------

export function showKeyForm(note, focus = true) {
  const form = $("key-form");
  const firstTime = form.hidden;
  form.hidden = false;
  $("api-key").value = localStorage.getItem(KEY_STORAGE) || "";
  $("key-note").textContent = note || "";
  if (firstTime && focus) $("api-key").focus();
}

/** Wire the key form; `onSaved` runs after a key is saved or removed (e.g. to reload lists). */
export function initKeyForm(onSaved) {
  $("key-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const key = $("api-key").value.trim();
    if (key) localStorage.setItem(KEY_STORAGE, key);
    else localStorage.removeItem(KEY_STORAGE);
    $("key-note").textContent = key ? "Key saved in this browser." : "Key removed.";
    clearError();
    onSaved();
  });

  $("key-forget").addEventListener("click", () => {
    localStorage.removeItem(KEY_STORAGE);
    $("api-key").value = "";
    $("key-note").textContent = "Key removed from this browser.";
  });

  if (localStorage.getItem(KEY_STORAGE)) showKeyForm("", false);
}
