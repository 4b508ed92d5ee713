import { createInterface, emitKeypressEvents, type Key } from 'node:readline';

import { CliError } from './errors.js';

/** Asks a question on the terminal (stderr), echoing the answer. */
export async function prompt(question: string): Promise<string> {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    const cancelled = new Promise<never>((_resolve, reject) => {
        rl.once('SIGINT', () => reject(new CliError('Cancelled.', 130)));
        rl.once('close', () => reject(new CliError('Cancelled.', 130)));
    });
    try {
        return await Promise.race([new Promise<string>((resolve) => rl.question(question, resolve)), cancelled]);
    }
    finally {
        cancelled.catch(() => {});                          // closing below rejects it: nobody waits any more
        rl.close();
    }
}

/** Asks for a secret on the terminal: nothing typed is echoed. Ctrl-C or Ctrl-D cancels. */
export function promptHidden(question: string): Promise<string> {
    const { stdin, stderr } = process;
    stderr.write(question);
    emitKeypressEvents(stdin);
    const wasRaw = stdin.isRaw;
    stdin.setRawMode(true);
    stdin.resume();
    return new Promise((resolve, reject) => {
        let value = '';
        const finish = (settle: () => void) => {
            stdin.off('keypress', onKey);
            stdin.setRawMode(wasRaw);
            stdin.pause();
            stderr.write('\n');
            settle();
        };

        const onKey = (str: string | undefined, key: Key | undefined) => {
            if (key?.ctrl && (key.name === 'c' || key.name === 'd')) {
                finish(() => reject(new CliError('Cancelled.', 130)));
            }
            else if (key?.name === 'return' || key?.name === 'enter') {
                finish(() => resolve(value));
            }
            else if (key?.name === 'backspace') {
                value = Array.from(value).slice(0, -1).join('');
            }
            else if (str && !key?.ctrl && !key?.meta) {
                value += str;
            }
        };

        stdin.on('keypress', onKey);
    });
}
