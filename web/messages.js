// What the user is told, in one place so every screen speaks alike: the one status message, and an
// error under the input the API named (extensions.field) so it shows where it is fixed.
import { ApiError } from "./api.js";
import { errorWords, fieldWords } from "./format.js";
import { $ } from "./dom.js";

export function say(text, kind = "info") {
  const box = $("message");
  box.textContent = text;
  box.dataset.kind = kind;
  box.hidden = false;
}

export function clearMessage() {
  $("message").hidden = true;
  $("message").textContent = "";
}

/** Every field error on the page goes when a new action starts: none is left from an earlier one. */
export function clearFieldErrors() {
  for (const input of document.querySelectorAll("[data-field]")) {
    input.removeAttribute("aria-invalid");
    input.removeAttribute("aria-describedby");
    const box = $(`${input.id}-error`);
    if (box) box.textContent = "";
  }
}

/** Put a message under the input the error is about; false when the form has no such input. */
export function showFieldError(form, field, text) {
  const input = form?.querySelector(`[data-field="${field}"]`);
  const box = input && $(`${input.id}-error`);
  if (!box) return false;
  box.textContent = text;
  input.setAttribute("aria-invalid", "true");
  input.setAttribute("aria-describedby", box.id);
  input.focus();
  return true;
}

export function fail(error, form = null) {
  if (error instanceof ApiError) {
    if (error.field && showFieldError(form, error.field, fieldWords(error.code, error.field))) {
      say(errorWords(error.code === "BAD_USER_INPUT" ? "BAD_USER_INPUT" : error.code), "error");
      return;
    }
    say(error.message, "error");
    return;
  }
  say(errorWords("INTERNAL"), "error");
}

document.addEventListener("input", (e) => {
  const input = e.target;
  if (!(input instanceof HTMLElement) || !input.dataset.field) return;
  input.removeAttribute("aria-invalid");
  const box = $(`${input.id}-error`);
  if (box) box.textContent = "";
});
