import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { FileMirror } from '../../packages/server/src/docs/file-mirror.js';
import type { Editor } from '../../packages/server/src/docs/messages.js';
import { sleep } from '../realtime/helpers.js';

const ALICE: Editor = { id: 1, email: 'alice@example.com' };

/** A mirror of a counter's text whose writes are recorded with the time they happened. */
function mirror(quietMs: number, maxWaitMs: number) {
    let text = 0;
    let editedAt = 0;
    const writes: Array<{ text: string; at: number }> = [];
    const errors: Error[] = [];
    const file = new FileMirror(() => String(text), async (written) => {
        writes.push({ text: written, at: Date.now() });
    }, { quietMs, maxWaitMs }, (err) => errors.push(err));
    return {
        file, writes, errors,
        edit: () => {
            text++;
            editedAt = Date.now();
            file.touch(ALICE);
        },
        text: () => String(text),
        editedAt: () => editedAt
    };
}

describe('the file mirror of a document', () => {
    it('writes once, after the edits pause for quietMs, the latest text', async () => {
        const { file, writes, errors, edit, editedAt } = mirror(300, 10_000);
        for (let i = 0; i < 10; i++) {
            edit();
            await sleep(30);
        }

        const last = editedAt();
        await sleep(100);
        assert.equal(writes.length, 0, 'each edit restarts the quiet period');
        await sleep(500);
        assert.equal(writes.length, 1);
        assert.equal(writes[0]!.text, '10');
        assert.ok(writes[0]!.at - last >= 290, `written ${writes[0]!.at - last} ms after the last edit`);
        await file.flush();
        assert.deepEqual(errors, []);
    });

    it('writes at least every maxWaitMs while edits go on', async () => {
        const { file, writes, edit, text } = mirror(200, 300);
        const started = Date.now();
        while (Date.now() - started < 1_000) {
            edit();
            await sleep(20);
        }

        assert.ok(writes.length >= 2 && writes.length <= 4, `${writes.length} writes in 1 s`);
        assert.ok(writes[0]!.at - started >= 290, `first write after ${writes[0]!.at - started} ms`);
        await sleep(300);
        await file.flush();
        assert.equal(writes.at(-1)!.text, text(), 'the last write holds the last edit');
    });

    it('writes nothing once cancelled, and flush writes a waiting edit at once', async () => {
        const cancelled = mirror(50, 1_000);
        cancelled.edit();
        cancelled.file.cancel();
        await sleep(120);
        assert.equal(cancelled.writes.length, 0);

        const flushed = mirror(10_000, 10_000);
        flushed.edit();
        flushed.edit();
        await flushed.file.flush();
        assert.deepEqual(flushed.writes.map((w) => w.text), ['2']);
        await sleep(50);
        assert.equal(flushed.writes.length, 1);
    });
});
