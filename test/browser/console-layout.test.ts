import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import type { Browser, Page } from 'playwright-core';

import { launchChromium } from '../helpers/browser.js';
import { startTestServer, type TestServer, type TestUser } from '../helpers/server.js';

const PASSWORD = 'correct horse battery';

/** The focused element's role and accessible name, as far as these pages need them: `button New file`. */
function focused(page: Page): Promise<string> {
    return page.evaluate(`(() => {
        const element = document.activeElement;
        const role = element?.getAttribute('role') ?? element?.tagName.toLowerCase();
        return role + ' ' + (element?.getAttribute('aria-label') ?? element?.textContent ?? '').trim();
    })()`) as Promise<string>;
}

/** Presses Tab until the control `role name` has the focus. */
async function tabTo(page: Page, role: string, name: string): Promise<void> {
    for (let presses = 0; presses < 40; ++presses) {
        await page.keyboard.press('Tab');
        if (await focused(page) === `${role} ${name}`) {
            return;
        }
    }

    assert.fail(`Tab never reached the ${role} "${name}"`);
}

describe('the console\'s layout and keyboard use', { timeout: 120_000 }, () => {
    let t: TestServer;
    let browser: Browser;
    let user: TestUser;

    before(async () => {
        t = await startTestServer({ listen: true });
        user = await t.user('keyboard');
        browser = await launchChromium();
    });
    after(async () => {
        await browser?.close();
        await t?.stop();
    });

    it('is usable by keyboard alone: sign in, make a project, a workspace and a file, and type in it', async () => {
        const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
        page.setDefaultTimeout(20_000);
        await page.goto(`${t.server.info.uri}/`);
        await page.getByLabel('Email').waitFor();
        assert.equal(await page.evaluate('document.activeElement?.type'), 'email', 'the focus starts in Email');
        await page.keyboard.type(user.email);
        await page.keyboard.press('Tab');
        await page.keyboard.type(PASSWORD);
        await page.keyboard.press('Enter');
        await page.getByRole('heading', { name: 'Projects' }).waitFor();

        for (const [button, name] of [['New project', 'Typed project'], ['New workspace', 'typed']]) {
            await tabTo(page, 'button', button);
            await page.keyboard.press('Enter');
            await page.keyboard.type(name);
            await page.keyboard.press('Enter');
            await page.getByRole('heading', { name, exact: true }).waitFor();
        }

        await tabTo(page, 'button', 'New file');
        await page.keyboard.press('Enter');
        await page.keyboard.type('notes.txt');
        await page.keyboard.press('Enter');
        const editor = page.getByRole('textbox', { name: 'notes.txt', exact: true });
        await editor.waitFor();
        await tabTo(page, 'textbox', 'notes.txt');
        await page.keyboard.type('typed by keyboard');
        await editor.getByText('typed by keyboard').waitFor();
    });

    it('fits a phone\'s width: no sideways scrolling, the editor and its controls on screen', async () => {
        const page = await (await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true })).newPage();
        page.setDefaultTimeout(20_000);
        await page.goto(`${t.server.info.uri}/`);
        const overflow = () => page.evaluate('document.documentElement.scrollWidth - window.innerWidth') as Promise<number>;
        assert.equal(await overflow(), 0, 'sign-in form');

        await page.getByLabel('Email').fill(user.email);
        await page.getByLabel('Password').fill(PASSWORD);
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.getByRole('link', { name: 'Typed project' }).click();
        await page.getByRole('heading', { name: 'Typed project' }).waitFor();
        assert.equal(await overflow(), 0, 'project page');

        await page.getByRole('link', { name: 'typed', exact: true }).click();
        await page.getByRole('link', { name: 'notes.txt' }).click();
        const editor = page.getByRole('textbox', { name: 'notes.txt', exact: true });
        await editor.getByText('typed by keyboard').waitFor();
        assert.equal(await overflow(), 0, 'workspace page');
        for (const control of [editor, page.getByRole('button', { name: 'Run' }), page.getByRole('button', { name: 'Sign out' })]) {
            const box = await control.boundingBox();
            assert.ok(box && box.x >= 0 && box.x + box.width <= 390, `${String(control)} is within the screen's width`);
        }
    });
});
