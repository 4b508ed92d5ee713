import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's Chromium, which the browser tests drive. */
export const CHROMIUM = '/usr/bin/chromium';

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Starts headless Chromium; close it in `after()`. */
export function launchChromium(): Promise<Browser> {
    return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/**
 * Refuses every request of `page` that leaves `origin` (the page must work offline) and
 * returns the list of the refused URLs.
 */
export async function stayOn(page: Page, origin: string): Promise<string[]> {
    const elsewhere: string[] = [];
    await page.route('**/*', (route) => {
        const url = route.request().url();
        if (url.startsWith(origin) || url.startsWith('data:') || url.startsWith('blob:')) {
            return route.continue();
        }

        elsewhere.push(url);
        return route.abort();
    });
    return elsewhere;
}

/** Collects what the page logs as errors (uncaught exceptions, CSP violations, failed loads). */
export function pageErrors(page: Page): string[] {
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    page.on('console', (message) => {
        if (message.type() === 'error') {
            errors.push(message.text());
        }
    });
    return errors;
}
