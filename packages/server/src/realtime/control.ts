import Boom from '@hapi/boom';
import type { Server } from '@hapi/hapi';
import { CloseCode, type Role } from '@collab/protocol';
import { Job, type ControlMessage } from '@collab/core';

import { workspaceAccess } from '../access.js';
import type { AccessCache } from './access-cache.js';
import type { Subscription } from './connection.js';
import { serverMessage } from './frames.js';
import type { Hub } from './hub.js';

/** A project's memberships changed: re-check live subscriptions of `user_id` (or of everyone when omitted) in its workspaces. */
export interface MembershipControl {
    type: 'membership';
    project_id: number;
    user_id?: number;
}

/** Close every socket of a user, with a close code (default 4401) and reason. */
export interface CloseUserControl {
    type: 'close_user_sockets';
    user_id: number;
    reason: string;
    code?: number;
}

/** The control messages of the real-time layer, sent to every instance through the bus. */
export type RealtimeControl = MembershipControl | CloseUserControl;

/**
 * Live access changes for this instance's sockets, told to every instance
 * through the bus: membership changes re-check subscriptions, and a user's
 * sockets can be closed everywhere. Routes reach it as
 * `server.plugins['collab-realtime'].control`.
 */
export class AccessControl {
    private stopListening: (() => void) | undefined;

    constructor(private readonly server: Server, private readonly hub: Hub, private readonly access: AccessCache) {}

    /** Starts applying control messages from every instance. */
    start(): void {
        this.stopListening ??= this.server.app.bus.onControl((message) => {
            this.apply(message as unknown as RealtimeControl).catch((err: Error) => this.server.app.logger.warn({ err: err.message }, 'control message failed'));
        });
    }

    /** Stops applying control messages. */
    stop(): void {
        this.stopListening?.();
        this.stopListening = undefined;
    }

    /** Tells every instance that a user's role in a project changed or that they left it (or everyone's, without `userId`). */
    announceMembershipChange(projectId: number, userId?: number): Promise<void> {
        this.access.forget(projectId);                      // here at once; elsewhere when the message arrives
        return this.publish({ type: 'membership', project_id: projectId, user_id: userId });
    }

    /** Closes every socket of a user, both transports, on every instance (e.g. account deactivated: 4401, `account deactivated`). */
    closeUserSockets(userId: number, reason: string, code: number = CloseCode.unauthorized): Promise<void> {
        return this.publish({ type: 'close_user_sockets', user_id: userId, reason, code });
    }

    /** Sends a control message to every instance, this one included; when Redis cannot take it, applies it here at once (others re-check when their users next subscribe or write). */
    private async publish(message: RealtimeControl): Promise<void> {
        try {
            await this.server.app.bus.publishControl(message as unknown as ControlMessage);
        }
        catch (err) {
            this.server.app.logger.warn({ err: (err as Error).message, type: message.type }, 'control message not sent: applied on this instance only');
            await this.apply(message);
        }
    }

    private async apply(message: RealtimeControl): Promise<void> {
        if (message.type === 'close_user_sockets' && Number.isSafeInteger(message.user_id)) {
            for (const connection of this.hub.connectionsOf(message.user_id)) {
                connection.close(message.code ?? CloseCode.unauthorized, String(message.reason ?? 'closed by the server'));
            }
        }
        else if (message.type === 'membership' && Number.isSafeInteger(message.project_id)) {
            this.access.forget(message.project_id);
            await recheck(this.server, this.hub, message.project_id, message.user_id);
        }
    }
}

/**
 * Re-reads the role behind each affected subscription (one query per user
 * and workspace): no access any more → the subscription is revoked (nes
 * `revoke`, plain close 4403); another role → kept, and the client is told
 * with a `role` message (a viewer's writes are refused from now on). Job
 * subscriptions in the project's workspaces are revoked when the job is no
 * longer visible to the user (submitter, or member of its workspace).
 */
async function recheck(server: Server, hub: Hub, projectId: number, userId?: number): Promise<void> {
    const connections = userId === undefined ? hub.connections() : hub.connectionsOf(userId);
    const subs = connections.flatMap((connection) => [...connection.subscriptions]).filter((sub) => sub.projectId === projectId);
    const jobs = connections.flatMap((connection) => [...connection.jobs.values()]).filter((job) => job.projectId === projectId);
    const roles = new Map<string, Promise<Role | null>>();
    const roleOf = (sub: Subscription) => {
        const key = `${sub.connection.user.id}:${sub.workspaceId}`;
        let role = roles.get(key);
        if (!role) {
            role = currentRole(server, sub.workspaceId, sub.connection.user.id);
            roles.set(key, role);
        }

        return role;
    };

    const results = await Promise.allSettled([
        ...subs.map(async (sub) => {
            const role = await roleOf(sub);
            if (!sub.connection.subscriptions.has(sub)) {
                return;                                     // ended meanwhile
            }

            if (role === null) {
                hub.remove(sub);
                sub.connection.revoke(sub, 'Your access to this workspace was removed');
            }
            else if (role !== sub.role) {
                sub.role = role;
                const message = role === 'viewer' ? 'Your role is now viewer: events you send are refused' : `Your role is now ${role}`;
                sub.connection.notify(serverMessage('role', { role, message }, sub.workspaceId), sub);
            }
        }),
        ...jobs.map(async (job) => {
            const visible = await Job.query(server.app.db).modify('visibleTo', job.connection.user.id).select('jobs.id').findById(job.jobId);
            if (!visible && job.connection.jobs.get(job.path) === job) {
                job.revoke('Your access to this job was removed');
            }
        })
    ]);
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) {
        throw failed.reason;
    }
}

async function currentRole(server: Server, workspaceId: number, userId: number): Promise<Role | null> {
    try {
        return (await workspaceAccess(server.app.db, workspaceId, userId)).role;
    }
    catch (err) {
        if (Boom.isBoom(err) && err.output.statusCode === 404) {
            return null;
        }

        throw err;
    }
}
