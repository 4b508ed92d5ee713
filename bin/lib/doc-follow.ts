import type { CollabClient, DocumentStatus, WorkspaceFile } from '@collab/sdk';
import { CloseCode, PermissionError } from '@collab/sdk';

import { CliError } from './errors.js';
import { follow } from './follow.js';

/** What `file cat --follow` prints about one file. */
export interface FollowOptions {
    workspace: number;
    /** The file as REST shows it before following (its revision goes with its text). */
    file: WorkspaceFile;
    json: boolean;
    /** A terminal: each version replaces the last on screen. */
    interactive: boolean;
}

const CLEAR_SCREEN = '\x1b[H\x1b[2J';
const notice = (line: string) => void process.stderr.write(`${line}\n`);

/**
 * Follows a file as a live shared document and prints its whole text again after every change
 * (changes that arrive together print once), until SIGINT/SIGTERM or the reader of stdout leaves
 * (resolves), or until it ends for good (rejects). With `json`, one `{path, revision?, content}`
 * per line; `revision` only while the text is the one the REST view had when following began.
 * The reconnect at each token expiry (4401, then a refreshed token) is routine and not announced.
 */
export function followDocument(client: CollabClient, options: FollowOptions): Promise<void> {
    const { workspace, file, json, interactive } = options;
    return follow((stop) => {
        let printed: string | undefined;
        let pending = false;
        let synced = false;
        let finished = false;
        let renewing = false;

        const print = () => {
            pending = false;
            const content = shared.text.toJSON();
            if (content === printed || finished) {
                return;
            }

            printed = content;
            if (json) {
                const revision = content === file.content ? file.revision : undefined;
                process.stdout.write(`${JSON.stringify({ path: file.path, revision, content })}\n`);
            }
            else {
                process.stdout.write(`${interactive ? CLEAR_SCREEN : ''}${content}${content.endsWith('\n') || content === '' ? '' : '\n'}`);
            }
        };

        const onStatus = (status: DocumentStatus) => {
            switch (status.state) {
                case 'synced':
                    if (synced && !renewing) {
                        notice('Reconnected.');
                    }

                    synced = true;
                    renewing = false;
                    print();
                    break;
                case 'disconnected':
                    renewing = status.code === CloseCode.unauthorized;
                    if (synced && !renewing) {
                        notice(`Connection lost${status.code ? ` (code ${status.code}${status.reason ? `: ${status.reason}` : ''})` : ''}: reconnecting.`);
                    }

                    break;
                case 'ended':
                    stop(synced && status.error instanceof PermissionError ? new CliError(`Your access to workspace ${workspace} was removed`) : status.error);
                    break;
                case 'denied':
                    break;
            }
        };

        const shared = client.docs.open(workspace, file.path, { onStatus });
        shared.doc.on('update', () => {
            if (synced && !pending) {
                pending = true;
                setImmediate(print);
            }
        });
        return () => {
            finished = true;
            shared.close();
        };
    });
}
