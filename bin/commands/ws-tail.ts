import type { CollabClient, EventEnvelope, RealtimeStatus, ResyncInfo, Unsubscribe } from '@collab/sdk';
import type { Command } from 'commander';

import { action, examples, parseCount, parseId } from '../lib/command.js';
import { CliError } from '../lib/errors.js';
import { follow } from '../lib/follow.js';
import { nothing } from '../lib/output.js';
import { eventLine } from '../lib/views.js';

interface Options {
    since?: number;
}

const notice = (line: string) => void process.stderr.write(`${line}\n`);

function closeText(status: Extract<RealtimeStatus, { state: 'disconnected' }>): string {
    if (status.code !== undefined) {
        return `code ${status.code}${status.reason ? `: ${status.reason}` : ''}`;
    }

    return status.error ? status.error.message.replace(/\.$/, '') : 'connection failed';
}

/** Prints the workspace's events until SIGINT/SIGTERM or the reader of stdout leaves (resolves), or until the stream ends for good (rejects). */
function tail(client: CollabClient, workspace: number, since: number | undefined, json: boolean, interactive: boolean): Promise<void> {
    return follow((stop) => {
        let unsubscribe: Unsubscribe | undefined;
        let ended = false;
        const onEvent = (event: EventEnvelope) => void process.stdout.write(`${json ? JSON.stringify(event) : eventLine(event)}\n`);
        const onResync = (info: ResyncInfo) => notice(info.reason === 'epoch_changed'
            ? `Events were lost (the workspace's sequence restarted, epoch ${info.epoch}): showing what the server kept; reload state with collab file ls.`
            : `Events after #${info.after} were trimmed from the history: showing what the server kept.`);
        const onStatus = (status: RealtimeStatus) => {
            switch (status.state) {
                case 'connected':
                    if (status.resumed) {
                        notice(status.after === undefined ? 'Reconnected (no event seen yet).' : `Reconnected, resuming after #${status.after}.`);
                    }
                    else if (interactive) {
                        notice(`Following workspace ${workspace}: press Ctrl-C to stop.`);
                    }

                    break;
                case 'disconnected':
                    notice(`${status.attempt === 1 ? 'Connection lost' : 'Still disconnected'} (${closeText(status)}): reconnecting in ${(status.retryInMs / 1000).toFixed(1)} s.`);
                    break;
                case 'role':
                    notice(`Your role in this project is now ${status.role}.`);
                    break;
                case 'revoked':
                    stop(new CliError(`Your access to workspace ${workspace} was removed`));
                    break;
                case 'ended':
                    stop(status.error);
                    break;
            }
        };

        const subscribe = async () => {
            try {
                unsubscribe = await client.realtime.subscribe(workspace, onEvent, { since, onStatus, onResync });
            }
            catch (err) {
                stop(err);
                return;
            }

            if (ended) {
                unsubscribe();
            }
        };

        void subscribe();
        return async () => {
            ended = true;
            unsubscribe?.();
            await client.realtime.close();
        };
    });
}

/** `collab ws tail <workspace> [--since SEQ]`. */
export function register(ws: Command): void {
    ws.command('tail')
        .description('Print the events of a workspace as they happen, until Ctrl-C; reconnects and resumes by itself')
        .argument('<workspace>', 'workspace id', parseId)
        .option('--since <seq>', 'first print the retained events after this seq', parseCount)
        .addHelpText('after', `${examples('collab ws tail 31', 'collab ws tail 31 --since 120 --json | jq -c .payload')}
Output: one line per event, "#seq event user payload" (presence events have no seq: #-),
or with --json one envelope per line. Connection notices go to stderr.
`)
        .action(action<[number], Options>((workspace) => `follow workspace ${workspace}`, async (ctx, [workspace], options) => {
            await tail(ctx.client(), workspace, options.since, ctx.json, ctx.interactive);
            return nothing();
        }));
}
