import type { CollabClient, DocumentStatus, WorkspaceFile } from '@collab/sdk';
import { PermissionError } from '@collab/sdk';

import { CliError } from './errors.js';

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
 * (resolves), or until it ends for good (rejects). With `json`, one `{path, revision?, content}` per line; `revision` only while
 * the text is the one the REST view had.
 */
export function followDocument(client: CollabClient, options: FollowOptions): Promise<void> {
    const { workspace, file, json, interactive } = options;
    return new Promise((resolve, reject) => {
        let printed: string | undefined;
        let pending = false;
        let synced = false;
        let finished = false;

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

        const finish = (err?: unknown) => {
            if (finished) {
                return;
            }

            finished = true;
            process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
            process.stdout.off('error', onOutputError);
            shared.close();
            if (err === undefined) {
                resolve();
            }
            else {
                reject(err as Error);
            }
        };

        const onSignal = () => finish();
        const onOutputError = (err: NodeJS.ErrnoException) => finish(err.code === 'EPIPE' ? undefined : err);   // the reader left (| head)
        const onStatus = (status: DocumentStatus) => {
            switch (status.state) {
                case 'synced':
                    if (synced) {
                        notice('Reconnected.');
                    }

                    synced = true;
                    print();
                    break;
                case 'disconnected':
                    if (synced) {
                        notice(`Connection lost${status.code ? ` (code ${status.code}${status.reason ? `: ${status.reason}` : ''})` : ''}: reconnecting.`);
                    }

                    break;
                case 'ended':
                    finish(synced && status.error instanceof PermissionError ? new CliError(`Your access to workspace ${workspace} was removed`) : status.error);
                    break;
                case 'denied':
                    break;
            }
        };

        process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
        process.stdout.on('error', onOutputError);
        const shared = client.docs.open(workspace, file.path, { onStatus });
        shared.doc.on('update', () => {
            if (synced && !pending) {
                pending = true;
                setImmediate(print);
            }
        });
    });
}
