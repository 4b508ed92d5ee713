/** Attributes of {@link h}: `on*` functions become listeners, `false`/`undefined` values are left out. */
export type Attributes = Record<string, string | number | boolean | undefined | ((event: Event) => void)>;

/** A child of {@link h}: nodes, text, or nothing. */
export type Child = Node | string | false | null | undefined;

/** Builds an element: `h('button', { type: 'button', onclick }, 'Run')`. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Attributes = {}, ...children: (Child | Child[])[]): HTMLElementTagNameMap[K] {
    const element = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
        if (typeof value === 'function') {
            element.addEventListener(name.slice(2), value);
        }
        else if (value === true) {
            element.setAttribute(name, '');
        }
        else if (value !== false && value !== undefined) {
            element.setAttribute(name, String(value));
        }
    }

    append(element, children.flat());
    return element;
}

/** Appends children, skipping empty ones. */
export function append(parent: Node, children: Child[]): void {
    for (const child of children) {
        if (child !== false && child !== null && child !== undefined) {
            parent.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
        }
    }
}

/** Replaces every child of `parent`. */
export function replace(parent: Element, ...children: Child[]): void {
    parent.replaceChildren();
    append(parent, children);
}

let nextId = 0;

/** A unique element id (for `label for` and `aria-*` references). */
export function uid(prefix: string): string {
    return `${prefix}-${++nextId}`;
}

/** A labelled input: `<label>` and control, tied by id. */
export function field(label: string, control: HTMLInputElement | HTMLSelectElement): HTMLElement {
    control.id ||= uid('field');
    return h('div', { class: 'field' }, h('label', { for: control.id }, label), control);
}
