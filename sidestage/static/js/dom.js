// Builds elements from data without ever parsing text as HTML: whatever a participant
// wrote reaches the page through text nodes and attributes only.
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  element.append(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
  return element;
}

// The element of a room's panel marked data-part="name".
export function part(root, name) {
  return root.querySelector(`[data-part="${name}"]`);
}

// Reads the JSON a page embeds for its scripts (a data block: never executed).
export function pageData(id) {
  const block = document.getElementById(id);
  return block ? JSON.parse(block.textContent) : {};
}

// Keeps a form's inputs from being sent twice while its command is on the way.
export async function busy(form, work) {
  const controls = [...form.querySelectorAll("button, input, textarea, select")].filter((control) => !control.disabled);
  controls.forEach((control) => { control.disabled = true; });
  try {
    return await work();
  } finally {
    // Only what this call disabled: a removal meanwhile keeps the form closed.
    if (!form.closest("[data-removed]")) controls.forEach((control) => { control.disabled = false; });
  }
}
