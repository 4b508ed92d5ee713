import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import type { Browser, Page } from 'playwright-core';

import { launchChromium } from '../helpers/browser.js';
import { startTestServer, type TestServer, type TestUser } from '../helpers/server.js';
import { until } from '../helpers/wait.js';

const PASSWORD = 'correct horse battery';
const EXPIRED = 'Your session has expired. Sign in again to carry on.';

/** Access tokens this short make the console refresh within seconds. */
const ACCESS_TOKEN_TTL = '6s';

describe('the console\'s session', { timeout: 120_000 }, () => {
    let t: TestServer;
    let browser: Browser;
    let user: TestUser;

    const open = async (): Promise<Page> => {
        const page = await (await browser.newContext()).newPage();
        page.setDefaultTimeout(30_000);
        await page.goto(`${t.server.info.uri}/`);
        await page.getByLabel('Email').fill(user.email);
        await page.getByLabel('Password').fill(PASSWORD);
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.getByRole('heading', { name: 'Projects' }).waitFor();
        return page;
    };
    const freshToken = async () => ((await t.call('POST', '/api/auth/login/', { payload: { email: user.email, password: PASSWORD } })).result as { access: string }).access;
    const storedRefresh = (page: Page) => page.evaluate('sessionStorage.getItem("collab.refresh")') as Promise<string | null>;
    const revoke = async (refresh: string | null) => {
        const res = await t.call('POST', '/api/auth/logout/', { payload: { refresh } });
        assert.equal(res.statusCode, 204, res.payload);
    };

    before(async () => {
        t = await startTestServer({ listen: true, env: { ACCESS_TOKEN_TTL } });
        user = await t.user('session');
        browser = await launchChromium();
    });
    after(async () => {
        await browser?.close();
        await t?.stop();
    });

    it('keeps the refresh token in the tab\'s sessionStorage and the access token nowhere on disk', async () => {
        const page = await open();
        assert.match(String(await storedRefresh(page)), /^[\w-]+\.[\w-]+\.[\w-]+$/);
        const stored = await page.evaluate('JSON.stringify([Object.keys(localStorage), Object.keys(sessionStorage), document.cookie])');
        assert.equal(stored, JSON.stringify([[], ['collab.refresh'], '']));
        await page.context().close();
    });

    it('refreshes the access token in the background and carries on working', async () => {
        const page = await open();
        const first = await storedRefresh(page);
        await until(async () => (await storedRefresh(page)) !== first, 30_000, 'the console to refresh its token');
        await page.getByRole('button', { name: 'New project' }).click();
        await page.getByLabel('Name').fill('After a refresh');
        await page.getByRole('button', { name: 'Create' }).click();
        await page.getByRole('heading', { name: 'After a refresh' }).waitFor();
        await page.context().close();
    });

    it('keeps a file\'s editor live across access-token expiries: typing after them reaches the server', async () => {
        const token = await freshToken();
        const project = (await t.call('POST', '/api/projects/projects/', { token, payload: { name: 'Long edit' } })).result as { id: number };
        const workspace = (await t.call('POST', `/api/projects/projects/${project.id}/workspaces/`, { token, payload: { name: 'w' } })).result as { id: number };
        const put = await t.call('PUT', `/api/projects/workspaces/${workspace.id}/files/notes.txt`, { token, payload: { content: 'start\n' } });
        assert.equal(put.statusCode, 200, put.payload);

        const page = await open();
        await page.goto(`${t.server.info.uri}/#/workspaces/${workspace.id}/notes.txt`);
        const editor = page.getByRole('textbox', { name: 'notes.txt', exact: true });
        await editor.getByText('start').waitFor();
        // Three refreshes, each a token lifetime minus a little apart: the token the file was opened with has expired.
        for (let refreshes = 0; refreshes < 3; ++refreshes) {
            const before = await storedRefresh(page);
            await until(async () => (await storedRefresh(page)) !== before, 30_000, 'a background refresh');
        }

        await editor.click();
        await page.keyboard.press('Control+End');
        await page.keyboard.type('typed after expiry');
        await until(async () => {
            const file = await t.call('GET', `/api/projects/workspaces/${workspace.id}/files/notes.txt`, { token: await freshToken() });
            return (file.result as { content: string }).content.includes('typed after expiry');
        }, 20_000, 'the typed text in the file');
        await page.context().close();
    });

    it('returns to the sign-in form with a sentence when the server ends the session', async () => {
        const page = await open();
        await revoke(await storedRefresh(page));
        await page.getByText(EXPIRED).waitFor();
        await page.getByRole('button', { name: 'Sign in' }).waitFor();
        assert.equal(await storedRefresh(page), null);
        await page.context().close();
    });

    it('says the same after a reload whose stored session was revoked', async () => {
        const page = await open();
        await revoke(await storedRefresh(page));
        await page.reload();
        await page.getByText(EXPIRED).waitFor();
        await page.getByLabel('Email').waitFor();
        await page.context().close();
    });
});
