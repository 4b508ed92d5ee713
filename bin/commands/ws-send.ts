import { EVENT_NAME_PATTERN } from '@collab/sdk';
import type { Command } from 'commander';

import { action, examples, parseId } from '../lib/command.js';
import { UsageError } from '../lib/errors.js';
import { message } from '../lib/output.js';

/** `collab ws send <workspace> <event> [payload]`. */
export function register(ws: Command): void {
    ws.command('send')
        .description('Send an event to everyone in a workspace (owners and collaborators)')
        .argument('<workspace>', 'workspace id', parseId)
        .argument('<event>', 'event name, e.g. cursor.move')
        .argument('[payload]', 'the payload as JSON (default: {})')
        .addHelpText('after', examples('collab ws send 31 chat.message \'{"text": "hello"}\''))
        .action(action<[number, string, string?]>((workspace, event) => `send ${event} to workspace ${workspace}`, async (ctx, [workspace, event, raw]) => {
            if (!EVENT_NAME_PATTERN.test(event)) {
                throw new UsageError(`Invalid event name ${JSON.stringify(event)}: lower-case letters, digits and _ . : -, starting with a letter, at most 64 characters`);
            }

            let payload: unknown = {};
            if (raw !== undefined) {
                try {
                    payload = JSON.parse(raw);
                }
                catch {
                    throw new UsageError('The payload is not valid JSON');
                }
            }

            const sent = await ctx.spin('Sending', () => ctx.client().events.send(workspace, { event, payload }));
            return message(sent, `Sent ${event} to workspace ${workspace} (seq ${sent.seq}).`);
        }));
}
