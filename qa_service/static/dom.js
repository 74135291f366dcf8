// Small DOM helpers shared by the page's modules. All data is shown with textContent and
// createElement, never innerHTML.

export const $ = (id) => document.getElementById(id);

/** Create an element with attributes/properties and children (strings become text nodes). */
export function el(tag, props = {}, ...children) {
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

export function safeHref(url) {
  // Only http(s) links are made clickable (a javascript: URL in a document must not run).
  return typeof url === "string" && /^https?:\/\//i.test(url) ? url : null;
}

export function plural(n, word) {
  return `${n.toLocaleString()} ${word}${n === 1 ? "" : "s"}`;
}

export function formatDate(value) {
  if (!value) return null;
  const d = new Date(value);
  return isNaN(d) ? String(value) : d.toLocaleDateString();
}

export function formatTime(value) {
  const d = new Date(value);
  return isNaN(d) ? String(value) : d.toLocaleString();
}

/** Ask for confirmation in a modal <dialog>; resolves to true when confirmed. */
export function confirmDialog(message, action = "Delete") {
  const dialog = $("confirm");
  $("confirm-text").textContent = message;
  dialog.querySelector("button[value=ok]").textContent = action;
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.returnValue = "cancel";
    dialog.showModal();
  });
}
