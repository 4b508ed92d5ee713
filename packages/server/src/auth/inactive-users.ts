import type { Server } from '@hapi/hapi';
import { User } from '@collab/core';

/** The control message that tells every instance a user's account changed state. */
export interface UserStatusControl {
    type: 'user.status';
    user_id: number;
    is_active: boolean;
}

const RELOAD_MS = 30_000;

/**
 * The deactivated users, known to every instance in memory so that the check
 * on each request costs one Set lookup. Kept current by `user.status` control
 * messages, and reloaded from the database periodically in case a message
 * was missed while Redis was away.
 */
export class InactiveUsers {
    private ids = new Set<number>();
    private timer?: NodeJS.Timeout;
    private stopListening?: () => void;

    constructor(private readonly server: Server) {}

    /** Whether the user's tokens must be refused. */
    has(userId: number): boolean {
        return this.ids.has(userId);
    }

    /** Loads the set and follows changes; called before the server starts. */
    async start(): Promise<void> {
        this.stopListening = this.server.app.bus.onControl((message) => {
            const control = message as Partial<UserStatusControl>;
            if (control.type === 'user.status' && typeof control.user_id === 'number') {
                this.set(control.user_id, control.is_active !== false);
            }
        });
        // A database that is down at start-up is reported by /readyz; the next reload catches up.
        await this.reload().catch((err: Error) => this.server.app.logger.warn({ err: err.message }, 'cannot load deactivated users yet'));
        this.timer = setInterval(() => void this.reload().catch(() => undefined), RELOAD_MS);
        this.timer.unref();
    }

    stop(): void {
        clearInterval(this.timer);
        this.stopListening?.();
    }

    /** Records a change here at once and tells every other instance. */
    async announce(userId: number, isActive: boolean): Promise<void> {
        this.set(userId, isActive);
        const message: UserStatusControl = { type: 'user.status', user_id: userId, is_active: isActive };
        await this.server.app.bus.publishControl({ ...message });
    }

    private set(userId: number, isActive: boolean): void {
        if (isActive) {
            this.ids.delete(userId);
        }
        else {
            this.ids.add(userId);
        }
    }

    private async reload(): Promise<void> {
        const rows = await User.query(this.server.app.db).select('id').where({ is_active: false });
        this.ids = new Set(rows.map((row) => row.id));
    }
}
