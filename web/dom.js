// The page's small shared DOM helpers, so every module finds elements and builds list rows the
// same way instead of each carrying its own copy.

export const $ = (id) => document.getElementById(id);

export function li(className, ...children) {
  const item = document.createElement("li");
  if (className) item.className = className;
  item.append(...children);
  return item;
}

export function span(className, text) {
  const element = document.createElement("span");
  if (className) element.className = className;
  element.textContent = text;
  return element;
}

export function submitButton(form) {
  return form.querySelector('button[type="submit"]');
}
