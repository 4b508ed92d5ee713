import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import type { Browser, Page } from 'playwright-core';

import { launchChromium, stayOn } from '../helpers/browser.js';
import { startTestServer, type TestServer, type TestUser } from '../helpers/server.js';

/** Expands an operation, presses "Try it out" and "Execute", and returns the status and body the UI shows. */
async function execute(page: Page, operationId: string, tag: string): Promise<{ status: string; body: string }> {
    const block = page.locator(`#operations-${tag}-${operationId}`);
    await block.locator('.opblock-summary').first().click();
    await block.locator('button.try-out__btn').click();
    await block.locator('button.execute').click();
    const status = block.locator('.live-responses-table .response .response-col_status');
    await status.waitFor({ timeout: 15_000 });
    return {
        status: (await status.innerText()).trim(),
        body: await block.locator('.live-responses-table .response .response-col_description .highlight-code').first().innerText()
    };
}

describe('Swagger UI', () => {
    let t: TestServer;
    let user: TestUser;
    let browser: Browser;
    let page: Page;
    let elsewhere: string[];

    before(async () => {
        t = await startTestServer({ listen: true });
        user = await t.user('swagger-ui');
        const created = await t.call('POST', '/api/projects/projects/', { token: user.access, payload: { name: 'Seen in Swagger UI' } });
        assert.equal(created.statusCode, 201);

        browser = await launchChromium();
        page = await browser.newPage();
        elsewhere = await stayOn(page, new URL(t.server.info.uri).origin);
        await page.goto(`${t.server.info.uri}/swagger/`);
        await page.locator('#operations-auth-getApiAuthMe').waitFor({ timeout: 20_000 });
    });
    after(async () => {
        await browser?.close();
        await t?.stop();
    });

    it('authorizes with a Bearer token through the "Authorize" button', async () => {
        await page.locator('button.authorize').first().click();
        const dialog = page.locator('.modal-ux');
        await dialog.locator('input[type="text"]').fill(`Bearer ${user.access}`);
        await dialog.locator('button.modal-btn.authorize').click();
        await dialog.locator('button.btn-done').click();
        await dialog.waitFor({ state: 'detached' });
    });

    it('executes GET /api/auth/me/ and shows the signed-in user', async () => {
        const { status, body } = await execute(page, 'getApiAuthMe', 'auth');
        assert.equal(status, '200');
        assert.match(body, new RegExp(user.email.replace(/[.+]/g, '\\$&')));
    });

    it('executes GET /api/projects/projects/ and shows 200 with the caller\'s project', async () => {
        const { status, body } = await execute(page, 'getApiProjectsProjects', 'projects');
        assert.equal(status, '200');
        assert.match(body, /Seen in Swagger UI/);
    });

    it('loads nothing from the internet', () => {
        assert.deepEqual(elsewhere, []);
    });
});
