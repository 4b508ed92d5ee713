import type { Context } from './context.js';
import { h, replace } from './dom.js';

/** A line that shows a failure as a sentence (`role="alert"`, so screen readers say it at once). */
export class ErrorLine {
    readonly element = h('p', { class: 'error', role: 'alert' });

    show(text: string): void {
        this.element.textContent = text;
    }

    clear(): void {
        this.element.textContent = '';
    }
}

/** Options of {@link formFor}. */
export interface FormOptions {
    /** The form's accessible name (none for a rename form: "Rename" would match every "Name" field). */
    label?: string;
    fields: HTMLElement[];
    /** The submit button's text. */
    submit: string;
    onSubmit: () => Promise<void>;
    onCancel?: () => void;
}

/** A form that runs `onSubmit` once at a time and shows its failure as a sentence. */
export function formFor(ctx: Context, options: FormOptions): HTMLFormElement {
    const error = new ErrorLine();
    const button = h('button', { type: 'submit' }, options.submit);
    const cancel = options.onCancel && h('button', { type: 'button', class: 'secondary', onclick: options.onCancel }, 'Cancel');
    const form = h('form', { 'aria-label': options.label, class: 'inline-form' }, ...options.fields, h('div', { class: 'buttons' }, button, cancel), error.element);
    form.addEventListener('keydown', (event) => {
        if (event.key === 'Escape' && options.onCancel) {
            options.onCancel();
        }
    });
    form.addEventListener('submit', (event) => {
        event.preventDefault();
        if (button.disabled) {
            return;
        }

        button.disabled = true;
        error.clear();
        options.onSubmit().then(() => {
            button.disabled = false;
        }).catch((err: unknown) => {
            button.disabled = false;
            error.show(ctx.explain(err));
        });
    });
    return form;
}

/**
 * A button that opens a form in its place; the form's Cancel (or Escape) closes it and gives the
 * focus back to the button.
 */
export function revealer(label: string, build: (close: () => void) => HTMLFormElement, className?: string): HTMLElement {
    const slot = h('div', { class: 'revealer' });
    const open = (): void => {
        const form = build(close);
        replace(slot, form);
        form.querySelector<HTMLElement>('input, select')?.focus();
    };
    const button = h('button', { type: 'button', class: className, onclick: open }, label);
    const close = (): void => {
        replace(slot, button);
        button.focus();
    };
    replace(slot, button);
    return slot;
}

/** A "Delete" button that asks once more, in place, before `onConfirm` runs. */
export function deleteButton(ctx: Context, question: string, onConfirm: () => Promise<void>): HTMLElement {
    const slot = h('div', { class: 'confirm' });
    const error = new ErrorLine();
    const ask = (): void => {
        const yes = h('button', { type: 'button', class: 'danger' }, 'Yes, delete');
        const no = h('button', { type: 'button', class: 'secondary', onclick: reset }, 'Cancel');
        yes.addEventListener('click', () => {
            yes.disabled = true;
            onConfirm().catch((err: unknown) => {
                yes.disabled = false;
                error.show(ctx.explain(err));
            });
        });
        replace(slot, h('span', { class: 'question' }, question), yes, no, error.element);
        yes.focus();
    };
    const button = h('button', { type: 'button', class: 'danger', onclick: ask }, 'Delete');
    function reset(): void {
        replace(slot, button);
        button.focus();
    }

    replace(slot, button);
    return slot;
}
