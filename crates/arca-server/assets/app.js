// Arca's one script, loaded as a module. Pages work without it; it adds confirmations before
// state changes, copy buttons, and the upload form's progress (see upload.js parts below).

const csrf = document.querySelector('meta[name="csrf-token"]')?.content ?? "";

// A form with data-confirm asks before it is sent; the text says what will change.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement)) return;
  const question = form.dataset.confirm;
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

// <button data-copy="#id"> copies the text of the element it names.
document.addEventListener("click", async (event) => {
  const button = event.target.closest?.("button[data-copy]");
  if (!button) return;
  const source = document.querySelector(button.dataset.copy);
  if (!source) return;
  try {
    await navigator.clipboard.writeText(source.textContent.trim());
    const label = button.textContent;
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = label; }, 1500);
  } catch {
    window.getSelection()?.selectAllChildren(source);
  }
});

export { csrf };
