import type { JobUpdate } from '../types.js';
import type { Channel } from './connection.js';

/** What a {@link JobWatch} reports. */
export interface JobWatchHandlers {
    onUpdate(update: JobUpdate): void;
    /** Subscribed again after a reconnect: updates may have been missed. */
    onResumed(): void;
}

/** The nes subscription `/jobs/{job_id}`: a job's status changes and output chunks. */
export class JobWatch implements Channel {
    constructor(readonly jobId: string, private readonly handlers: JobWatchHandlers) {}

    path(): string {
        return `/jobs/${encodeURIComponent(this.jobId)}`;
    }

    onConnected(resumed: boolean): void {
        if (resumed) {
            this.handlers.onResumed();
        }
    }

    onMessage(message: unknown): void {
        const update = message as Partial<JobUpdate> | null;
        if (update && (update.type === 'status' || update.type === 'output')) {
            this.handlers.onUpdate(update as JobUpdate);
        }
    }

    onDisconnected(): void {}

    onEnded(): void {}                                      // polling carries on
}
