import { ConflictError } from '@collab/sdk';

import { ErrorLine } from '../components.js';
import { field, h } from '../dom.js';
import { describeError } from '../errors.js';
import type { Session } from '../session.js';

/** The sign-in form ("Email", "Password", "Sign in", "Register"); `notice` says why it is shown. */
export function signInView(session: Session, onSignedIn: () => void, notice?: string): HTMLElement {
    const email = h('input', { type: 'email', name: 'email', autocomplete: 'username', required: true });
    const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true, minlength: 8, maxlength: 128 });
    const error = new ErrorLine();
    const signIn = h('button', { type: 'submit' }, 'Sign in');
    const register = h('button', { type: 'button', class: 'secondary' }, 'Register');
    const form = h('form', { 'aria-label': 'Sign in', class: 'sign-in' },
        h('h1', {}, 'Sign in to collab'),
        notice && h('p', { class: 'notice', role: 'status' }, notice),
        field('Email', email),
        field('Password', password),
        h('div', { class: 'buttons' }, signIn, register),
        h('p', { class: 'hint' }, 'New here? Enter an email and a password of 8 characters or more, then press Register.'),
        error.element);

    const attempt = (action: () => Promise<void>, failure: (err: unknown) => string): void => {
        if (!form.reportValidity()) {
            return;
        }

        signIn.disabled = register.disabled = true;
        error.clear();
        action().then(onSignedIn).catch((err: unknown) => {
            signIn.disabled = register.disabled = false;
            error.show(failure(err));
        });
    };

    form.addEventListener('submit', (event) => {
        event.preventDefault();
        attempt(() => session.signIn(email.value.trim(), password.value), describeError);
    });
    register.addEventListener('click', () => {
        attempt(() => session.register(email.value.trim(), password.value), (err) =>
            err instanceof ConflictError ? 'An account with this email exists already: press Sign in.' : describeError(err));
    });
    return h('main', { class: 'centered' }, form);
}
