import { createInterface } from 'node:readline';

/** Reads a secret: from a hidden prompt on a terminal, else the first line of stdin. */
export async function readSecret(question: string): Promise<string> {
    const tty = process.stdin.isTTY;
    const rl = createInterface({ input: process.stdin, output: tty ? process.stderr : undefined, terminal: tty });
    if (tty) {
        process.stderr.write(question);
        // Echo nothing of what is typed.
        (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = () => {};
    }

    try {
        const line: string = await new Promise((resolve, reject) => {
            rl.once('line', resolve);
            rl.once('close', () => reject(new Error('no password given on stdin')));
        });
        if (tty) {
            process.stderr.write('\n');
        }

        return line.replace(/\r$/, '');
    }
    finally {
        rl.close();
    }
}
