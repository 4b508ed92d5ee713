import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';

import type { Browser, Locator, Page } from 'playwright-core';
import { startWorker, type WorkerHandle } from '@collab/worker';

import { launchChromium, pageErrors, stayOn } from '../helpers/browser.js';
import { startTestServer, type TestServer, type TestUser } from '../helpers/server.js';
import { until } from '../helpers/wait.js';

// The worker's job directories stay out of the shared tmp (sandbox.test.ts counts collab-job-* there);
// traversable (0711), as the sandbox, as nobody, binds a directory inside it.
const privateTmp = mkdtempSync(join(tmpdir(), 'collab-console-test-'));
chmodSync(privateTmp, 0o711);
process.env.TMPDIR = privateTmp;
after(() => rmSync(privateTmp, { recursive: true, force: true }));

const PASSWORD = 'correct horse battery';

/** The README's screenshot of the console. */
const SCREENSHOT = fileURLToPath(new URL('../../docs/console.png', import.meta.url));
const TIMEOUT = { timeout: 20_000 };

/** Signs in through the form, as a person would. */
async function signIn(page: Page, email: string): Promise<void> {
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Projects' }).waitFor(TIMEOUT);
}

/** From the projects page to a file of a workspace, by links. */
async function openFile(page: Page, project: string, workspace: string, path: string): Promise<Locator> {
    await page.getByRole('link', { name: project, exact: true }).click();
    await page.getByRole('link', { name: workspace, exact: true }).click();
    await page.getByRole('link', { name: path, exact: true }).click();
    const editor = page.getByRole('textbox', { name: path, exact: true });
    await editor.waitFor(TIMEOUT);
    return editor;
}

/** Waits (generously: jobs queue behind others on a busy machine) for the "Output" region's status line to match `pattern`; a failure says what the region showed. */
async function outcome(output: Locator, pattern: RegExp): Promise<void> {
    try {
        await output.getByRole('status').filter({ hasText: pattern }).waitFor({ timeout: 60_000 });
    }
    catch (err) {
        throw new Error(`${(err as Error).message}\n"Output" showed: ${await output.innerText()}`, { cause: err });
    }
}

/** The part of the DOM {@link textOf} reads (the tests compile without the DOM's types). */
interface Element {
    textContent: string | null;
    cloneNode(deep: true): Element;
    querySelectorAll(selector: string): Iterable<Element>;
    remove(): void;
}

/** The editor's text: its lines, without the name tags and carets of other users' cursors. */
function textOf(editor: Locator): Promise<string> {
    return editor.evaluate((content: Element) => [...content.querySelectorAll('.cm-line')].map((line) => {
        const copy = line.cloneNode(true);
        for (const caret of copy.querySelectorAll('.cm-ySelectionCaret')) {
            caret.remove();
        }

        return copy.textContent ?? '';
    }).join('\n'));
}

describe('the web console in Chromium', { timeout: 240_000 }, () => {
    let t: TestServer;
    let worker: WorkerHandle;
    let browser: Browser;
    let alice: TestUser;
    let bob: TestUser;
    let carol: TestUser;
    const pages: Record<'alice' | 'bob' | 'carol' | 'newcomer', Page> = {} as never;
    const elsewhere: string[] = [];
    const errors = new Map<string, string[]>();
    const project = `Demo ${randomUUID().slice(0, 6)}`;

    before(async () => {
        t = await startTestServer({ listen: true });
        worker = await startWorker({ config: t.config, db: t.database.db, concurrency: 2 });
        [alice, bob, carol] = await Promise.all([t.user('alice'), t.user('bob'), t.user('carol')]);
        browser = await launchChromium();
        for (const name of ['alice', 'bob', 'carol', 'newcomer'] as const) {
            const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
            const page = pages[name] = await context.newPage();
            elsewhere.push(...await stayOn(page, new URL(t.server.info.uri).origin));
            errors.set(name, pageErrors(page));
            page.setDefaultTimeout(20_000);
            await page.goto(`${t.server.info.uri}/`);
        }
    });

    after(async () => {
        await browser?.close();
        await worker?.close();
        await t?.stop();
    });

    it('registers a new account with "Register" and signs it in', async () => {
        const page = pages.newcomer;
        await page.getByLabel('Email').fill(`newcomer-${randomUUID().slice(0, 8)}@example.com`);
        await page.getByLabel('Password').fill(PASSWORD);
        await page.getByRole('button', { name: 'Register' }).click();
        await page.getByRole('heading', { name: 'Projects' }).waitFor();
        await page.getByText('No projects yet').waitFor();
    });

    it('renames by "Rename" and "Save as", and deletes a file, a workspace and a project after asking once more', async () => {
        const page = pages.newcomer;
        await page.getByRole('button', { name: 'New project' }).click();
        await page.getByLabel('Name').fill('Scratch');
        await page.getByRole('button', { name: 'Create' }).click();
        await page.getByRole('button', { name: 'Rename' }).click();
        await page.getByLabel('Name').fill('Scratch renamed');
        await page.getByRole('button', { name: 'Save' }).click();
        await page.getByRole('heading', { name: 'Scratch renamed' }).waitFor();

        await page.getByRole('button', { name: 'New workspace' }).click();
        await page.getByLabel('Name').fill('w1');
        await page.getByRole('button', { name: 'Create' }).click();
        await page.getByRole('button', { name: 'New file' }).click();
        await page.getByLabel('Path').fill('a.py');
        await page.getByRole('button', { name: 'Create' }).click();
        await page.getByRole('textbox', { name: 'a.py', exact: true }).click();
        await page.keyboard.type('x = 1');
        await page.getByRole('button', { name: 'Save as' }).click();
        await page.getByLabel('Path').fill('b.py');
        await page.getByRole('button', { name: 'Save', exact: true }).click();
        const copy = page.getByRole('textbox', { name: 'b.py', exact: true });
        await copy.getByText('x = 1').waitFor();

        const files = page.getByRole('list', { name: 'Files' });
        await page.getByRole('group', { name: 'b.py actions' }).getByRole('button', { name: 'Delete' }).click();
        await page.getByRole('button', { name: 'Yes, delete' }).click();
        await files.getByRole('link', { name: 'b.py' }).waitFor({ state: 'detached' });
        // Then a.py, typed into moments ago.
        await files.getByRole('link', { name: 'a.py' }).click();
        await page.getByRole('group', { name: 'a.py actions' }).getByRole('button', { name: 'Delete' }).click();
        await page.getByRole('button', { name: 'Yes, delete' }).click();
        await files.getByText('No files yet.').waitFor();

        await page.getByRole('group', { name: 'Workspace actions' }).getByRole('button', { name: 'Delete' }).click();
        await page.getByRole('button', { name: 'Yes, delete' }).click();
        await page.getByRole('heading', { name: 'Scratch renamed' }).waitFor();
        await page.getByText('No workspaces yet.').waitFor();

        await page.getByRole('button', { name: 'Delete' }).click();
        await page.getByRole('button', { name: 'Yes, delete' }).click();
        await page.getByRole('heading', { name: 'Projects' }).waitFor();
        await page.getByText('No projects yet').waitFor();
    });

    it('says in a sentence when the password is wrong', async () => {
        const page = pages.alice;
        await page.getByLabel('Email').fill(alice.email);
        await page.getByLabel('Password').fill('not the password');
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.getByRole('alert').filter({ hasText: 'The email or password is not right.' }).waitFor();
    });

    it('signs in with "Email", "Password" and "Sign in"', async () => {
        await signIn(pages.alice, alice.email);
    });

    it('keeps the session across a reload', async () => {
        await pages.alice.reload();
        await pages.alice.getByRole('heading', { name: 'Projects' }).waitFor();
        assert.equal(await pages.alice.getByRole('button', { name: 'Sign in' }).count(), 0);
    });

    it('creates a project, a workspace and main.py', async () => {
        const page = pages.alice;
        await page.getByRole('button', { name: 'New project' }).click();
        await page.getByLabel('Name').fill(project);
        await page.getByRole('button', { name: 'Create' }).click();
        await page.getByRole('heading', { name: project }).waitFor();

        await page.getByRole('button', { name: 'New workspace' }).click();
        await page.getByLabel('Name').fill('main');
        await page.getByRole('button', { name: 'Create' }).click();
        await page.getByRole('heading', { name: 'main', exact: true }).waitFor();

        await page.getByRole('button', { name: 'New file' }).click();
        await page.getByLabel('Path').fill('main.py');
        await page.getByRole('button', { name: 'Create' }).click();
        await page.getByRole('textbox', { name: 'main.py', exact: true }).waitFor();
        await page.getByRole('list', { name: 'Files' }).getByRole('link', { name: 'main.py' }).waitFor();
    });

    it('adds a collaborator and a viewer by "Member email" and "Role"', async () => {
        const page = pages.alice;
        await page.getByRole('navigation', { name: 'Breadcrumb' }).getByRole('link', { name: project }).click();
        for (const [user, role] of [[bob, 'collaborator'], [carol, 'viewer']] as const) {
            await page.getByLabel('Member email').fill(user.email);
            await page.getByLabel('Role', { exact: true }).selectOption(role);
            await page.getByRole('button', { name: 'Add member' }).click();
            await page.getByRole('list', { name: 'Members' }).getByRole('listitem').filter({ hasText: user.email }).waitFor();
        }

        const members = page.getByRole('list', { name: 'Members' });
        assert.equal(await members.getByLabel(`Access of ${bob.email}`).inputValue(), 'collaborator');
        assert.equal(await members.getByLabel(`Access of ${carol.email}`).inputValue(), 'viewer');
    });

    it('changes a member\'s role with "Access of …" and removes a member with "Remove"', async () => {
        const page = pages.alice;
        const dave = await t.user('dave');
        await page.getByLabel('Member email').fill(dave.email);
        await page.getByLabel('Role', { exact: true }).selectOption('viewer');
        await page.getByRole('button', { name: 'Add member' }).click();
        const members = page.getByRole('list', { name: 'Members' });
        await members.getByLabel(`Access of ${dave.email}`).selectOption('collaborator');
        const projectId = Number(new URL(page.url()).hash.split('/')[2]);
        const roleOf = async () => ((await t.call('GET', `/api/projects/projects/${projectId}/members/`, { token: alice.access })).result as { user: { id: number }; role: string }[])
            .find((member) => member.user.id === dave.id)?.role;
        assert.equal(await until(async () => (await roleOf()) === 'collaborator' && 'collaborator', 10_000, 'the role change'), 'collaborator');

        await members.getByRole('button', { name: `Remove ${dave.email}` }).click();
        await members.getByText(dave.email).waitFor({ state: 'detached' });
        assert.equal(await roleOf(), undefined);
    });

    it('says in a sentence what the server refused: an unknown member email', async () => {
        const page = pages.alice;
        await page.getByLabel('Member email').fill('nobody-at-all@example.com');
        await page.getByRole('button', { name: 'Add member' }).click();
        await page.getByRole('form', { name: 'Add a member' }).getByRole('alert')
            .filter({ hasText: 'Nobody has registered with that email yet: ask them to register first.' }).waitFor();
    });

    it('shows "Here now" with both users once the collaborator opens the workspace', async () => {
        await pages.alice.getByRole('list', { name: 'Workspaces' }).getByRole('link', { name: 'main', exact: true }).click();
        await pages.alice.getByRole('link', { name: 'main.py', exact: true }).click();
        await signIn(pages.bob, bob.email);
        await openFile(pages.bob, project, 'main', 'main.py');
        for (const page of [pages.alice, pages.bob]) {
            const here = page.getByRole('list', { name: 'Here now' });
            await here.getByText(alice.email).waitFor();
            await here.getByText(bob.email).waitFor();
        }
    });

    it('runs main.py: "Run" shows the program\'s output in "Output", then its status, exit code and duration', async () => {
        const page = pages.alice;
        const editor = page.getByRole('textbox', { name: 'main.py', exact: true });
        await editor.click();
        await page.keyboard.type("print('hi')");
        await page.getByRole('button', { name: 'Run' }).click();
        const output = page.getByRole('region', { name: 'Output' });
        await outcome(output, /^Succeeded: exit code 0, \d+(\.\d+)? m?s\.$/);
        assert.equal(await output.getByLabel('Program output').innerText(), 'hi\n');
        await page.getByRole('list', { name: 'Job history' }).getByText(/python: Succeeded/).waitFor();
        const events = page.getByRole('list', { name: 'Events' });
        for (const event of ['presence.join', 'job.queued', 'job.started', 'job.finished']) {
            await events.getByText(event, { exact: true }).first().waitFor();
        }
    });

    it('streams a program\'s output into "Output" while it runs, and "Cancel" stops it', async () => {
        const page = pages.alice;
        await page.getByRole('button', { name: 'New file' }).click();
        await page.getByLabel('Path').fill('stream.py');
        await page.getByRole('button', { name: 'Create' }).click();
        await page.getByRole('textbox', { name: 'stream.py', exact: true }).click();
        await page.keyboard.type("import time\nprint('first', flush=True)\ntime.sleep(3)\nprint('second')");
        await page.getByRole('button', { name: 'Run' }).click();
        const output = page.getByRole('region', { name: 'Output' });
        await output.getByLabel('Program output').getByText('first').waitFor();
        assert.equal(await output.getByRole('status').innerText(), 'Running stream.py…');
        assert.doesNotMatch(await output.getByLabel('Program output').innerText(), /second/);
        await outcome(output, /^Succeeded: exit code 0, [\d.]+ s\.$/);
        assert.equal(await output.getByLabel('Program output').innerText(), 'first\nsecond\n');

        await page.getByRole('textbox', { name: 'stream.py', exact: true }).click();
        await page.keyboard.press('Control+End');
        await page.keyboard.type('\ntime.sleep(60)');
        await page.getByRole('button', { name: 'Run' }).click();
        await output.getByRole('status').filter({ hasText: 'Running stream.py…' }).waitFor();
        await output.getByRole('button', { name: 'Cancel' }).click();
        await outcome(output, /^Cancelled/);
        await page.getByRole('list', { name: 'Files' }).getByRole('link', { name: 'main.py' }).click();
        await page.getByRole('textbox', { name: 'main.py', exact: true }).waitFor();
    });

    it('merges two users typing in one file at once: both editors end with the same text, each showing the other\'s named cursor', async () => {
        const editors = [pages.alice, pages.bob].map((page) => page.getByRole('textbox', { name: 'main.py', exact: true }));
        await until(async () => (await textOf(editors[1]!)).includes("print('hi')"), 10_000, 'the collaborator to see the first line');
        // At the same time, one at the start and one at the end (typing at one spot would interleave the lines' letters).
        await Promise.all([
            (async () => {
                await editors[0]!.click();
                await pages.alice.keyboard.press('Control+Home');
                await pages.alice.keyboard.type("print('from alice')\n", { delay: 15 });
            })(),
            (async () => {
                await editors[1]!.click();
                await pages.bob.keyboard.press('Control+End');
                await pages.bob.keyboard.type("\nprint('from bob')", { delay: 15 });
            })()
        ]);

        const final = await until(async () => {
            const [a, b] = await Promise.all(editors.map(textOf));
            return a === b && a;
        }, 30_000, 'both editors to hold the same text');
        assert.equal(final, "print('from alice')\nprint('hi')\nprint('from bob')");
        await pages.alice.locator('.cm-ySelectionInfo', { hasText: 'bob' }).waitFor({ state: 'attached', timeout: 30_000 });
        await pages.bob.locator('.cm-ySelectionInfo', { hasText: 'alice' }).waitFor({ state: 'attached', timeout: 30_000 });
    });

    it('shows a viewer the file read-only, says so, and offers no Run, New file or Delete', async () => {
        const page = pages.carol;
        await signIn(page, carol.email);
        const editor = await openFile(page, project, 'main', 'main.py');
        await page.getByText('You are a viewer here: this file is read-only.').waitFor();
        assert.equal(await editor.getAttribute('aria-readonly'), 'true');
        for (const name of ['Run', 'New file', 'Delete', 'Rename']) {
            assert.equal(await page.getByRole('button', { name }).count(), 0, name);
        }

        const before = await textOf(editor);
        await editor.click();
        await page.keyboard.type('viewer typing');
        await page.keyboard.press('Enter');
        assert.equal(await textOf(editor), before);
        assert.doesNotMatch(await textOf(pages.alice.getByRole('textbox', { name: 'main.py', exact: true })), /viewer typing/);
    });

    it('keeps the README\'s screenshot current (docs/console.png, 1280×800)', async () => {
        const page = pages.alice;
        await page.getByRole('button', { name: 'Run' }).click();
        const output = page.getByRole('region', { name: 'Output' });
        await output.getByLabel('Program output').filter({ hasText: 'from alice' }).waitFor({ timeout: 60_000 });
        await outcome(output, /^Succeeded: exit code 0/);
        await page.getByRole('list', { name: 'Here now' }).getByText(carol.email).waitFor();
        await page.mouse.move(0, 0);
        const png = await page.screenshot({ path: SCREENSHOT });
        assert.equal(png.readUInt32BE(16), 1280);
        assert.equal(png.readUInt32BE(20), 800);
    });

    it('offers the viewer no member controls on the project page', async () => {
        const page = pages.carol;
        await page.getByRole('navigation', { name: 'Breadcrumb' }).getByRole('link', { name: project }).click();
        await page.getByRole('list', { name: 'Members' }).getByText(alice.email).waitFor();
        for (const name of ['Add member', 'Delete', 'New workspace', 'Remove']) {
            assert.equal(await page.getByRole('button', { name }).count(), 0, name);
        }

        assert.equal(await page.getByLabel('Member email').count(), 0);
    });

    it('labels every control of the workspace page', async () => {
        const snapshot = await pages.alice.locator('body').ariaSnapshot();
        assert.match(snapshot, /textbox "main\.py"/);
        const unnamed = snapshot.split('\n').filter((line) => /^\s*- (button|textbox|combobox|link|checkbox|radio)\s*(\[[^\]]*\])?:?\s*$/.test(line));
        assert.deepEqual(unnamed, []);
    });

    it('signs out back to the sign-in form, and a reload stays signed out', async () => {
        const page = pages.alice;
        await page.getByRole('button', { name: 'Sign out' }).click();
        await page.getByRole('button', { name: 'Sign in' }).waitFor();
        await page.getByText('You are signed out.').waitFor();
        await page.reload();
        await page.getByRole('button', { name: 'Sign in' }).waitFor();
        assert.equal(await page.getByRole('heading', { name: 'Projects' }).count(), 0);
    });

    it('loads nothing from the internet and logs no error', () => {
        assert.deepEqual(elsewhere, []);
        // The expected ones: the wrong password's 401 and the unknown member's 404.
        const logged = [...errors].flatMap(([name, texts]) => texts.map((text) => `${name}: ${text}`));
        assert.deepEqual(logged.filter((text) => !/^alice: Failed to load resource: the server responded with a status of 40[14]/.test(text)), []);
    });
});
