/** A small element builder: text is always set as text, never parsed as HTML. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string | null)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    node.setAttribute(name, value);
  }
  for (const child of children) {
    if (child !== null) {
      node.append(child);
    }
  }
  return node;
}

/** A button that calls `onClick`. */
export function button(
  label: string,
  onClick: () => void,
  attrs: Record<string, string> = {}
): HTMLButtonElement {
  const node = h('button', { class: 'jp-Button rho-button', ...attrs }, label);
  node.addEventListener('click', onClick);
  return node;
}
