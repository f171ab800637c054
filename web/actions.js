// How every user action runs, so money is never sent twice: one idempotency key per user intent
// (kept while the same intent is retried after a network failure, new once it has an answer), a
// busy button while it runs (a double click sends one request), and the page's messages cleared
// before and any error shown after.
import { newKey } from "./api.js";
import { $ } from "./dom.js";
import { clearFieldErrors, clearMessage, fail } from "./messages.js";

/** Run `work` with `button` disabled and marked busy; a second press while it runs does nothing. */
export async function busy(button, work) {
  if (!button || button.dataset.busy === "1") return undefined;
  const label = button.textContent;
  button.dataset.busy = "1";
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  button.textContent = "Memproses…";
  try {
    return await work();
  } finally {
    button.dataset.busy = "";
    button.disabled = false;
    button.removeAttribute("aria-busy");
    button.textContent = label;
  }
}

export const intents = new Map();

/** The idempotency key of this intent: the same while the same values are retried. */
export function intentKey(name, values) {
  const signature = JSON.stringify(values);
  const known = intents.get(name);
  if (known && known.signature === signature) return known.key;
  const key = newKey();
  intents.set(name, { signature, key });
  return key;
}

export function settle(name) {
  intents.delete(name);
}

export function on(id, event, handler) {
  $(id).addEventListener(event, async (e) => {
    e.preventDefault();
    const form = e.currentTarget.tagName === "FORM" ? e.currentTarget : e.currentTarget.closest("form");
    clearMessage();
    clearFieldErrors();
    try { await handler(e); } catch (error) { fail(error, form); }
  });
}
