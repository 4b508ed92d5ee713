import type { User } from '@collab/sdk';

import type { Session } from './session.js';

/** What every page gets from the app. */
export interface Context {
    session: Session;
    /** The signed-in user. */
    user: User;
    /** The sentence for a failure (and, for a dead session, back to the sign-in form). */
    explain(err: unknown): string;
    /** Opens a page (`#/projects/3`). */
    go(hash: string): void;
}

/** A page: its element and what to release when it is left. */
export interface View {
    element: HTMLElement;
    destroy?(): void;
}
