import { h, replace } from './dom.js';
import type { Context, View } from './context.js';
import { describeError } from './errors.js';
import { parseRoute } from './router.js';
import { EXPIRED, Session } from './session.js';
import { projectView } from './views/project.js';
import { projectsView } from './views/projects.js';
import { signInView } from './views/sign-in.js';
import { WorkspaceView } from './views/workspace.js';

/** The console: the sign-in form, or the signed-in header and the page the address names. */
export class App {
    readonly #root: HTMLElement;
    readonly #session: Session;
    readonly #main = h('div', { class: 'main' });
    #view?: View;

    constructor(root: HTMLElement) {
        this.#root = root;
        this.#session = new Session(location.origin, (message) => this.#signedOut(message));
        window.addEventListener('hashchange', () => this.#route());
    }

    /** Resumes the session of a reload, or shows the sign-in form. */
    async start(): Promise<void> {
        replace(this.#root, h('p', { class: 'centered', role: 'status' }, 'Loading…'));
        try {
            const restored = await this.#session.restore();
            if (restored === 'restored') {
                this.#signedIn();
                return;
            }

            this.#signedOut(restored === 'expired' ? EXPIRED : undefined);
        }
        catch (err) {
            this.#signedOut(describeError(err));
        }
    }

    #signedIn(): void {
        const user = this.#session.user!;
        const signOut = h('button', { type: 'button', class: 'secondary' }, 'Sign out');
        signOut.addEventListener('click', () => {
            signOut.disabled = true;
            this.#leave();
            void this.#session.signOut().finally(() => this.#signedOut('You are signed out.'));
        });
        replace(this.#root,
            h('header', { class: 'top' },
                h('a', { href: '#/', class: 'brand' }, 'collab'),
                h('span', { class: 'user' }, user.email),
                signOut),
            this.#main);
        this.#route();
    }

    #signedOut(notice?: string): void {
        this.#leave();
        replace(this.#root, signInView(this.#session, () => this.#signedIn(), notice));
        this.#root.querySelector('input')?.focus();
    }

    #route(): void {
        const user = this.#session.user;
        if (!user) {
            return;
        }

        const route = parseRoute(location.hash);
        if (route.page === 'workspace' && this.#view instanceof WorkspaceView && this.#view.show(route.id, route.file)) {
            return;
        }

        const ctx: Context = {
            session: this.#session,
            user,
            explain: (err) => (this.#session.ended(err) ? EXPIRED : describeError(err)),
            go: (hash) => {
                location.hash = hash;
            }
        };
        this.#leave();
        this.#view = route.page === 'project' ? projectView(ctx, route.id)
            : route.page === 'workspace' ? new WorkspaceView(ctx, route.id, route.file)
                : projectsView(ctx);
        replace(this.#main, this.#view.element);
        this.#view.element.querySelector('h1')?.setAttribute('tabindex', '-1');
    }

    #leave(): void {
        this.#view?.destroy?.();
        this.#view = undefined;
    }
}
