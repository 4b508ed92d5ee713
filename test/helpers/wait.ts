/** What `until()` accepts from its check: a truthy value ends the wait. */
type Check<T> = () => T | undefined | null | false | Promise<T | undefined | null | false>;

/**
 * Polls `check` every 20 ms until it returns something truthy, and resolves
 * with it. After `timeoutMs` it throws, naming `what` and adding `detail()`
 * (e.g. a child's output) to the message.
 */
export async function until<T>(check: Check<T>, timeoutMs = 15_000, what = 'condition', detail?: () => string): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const value = await check();
        if (value) {
            return value;
        }

        if (Date.now() > deadline) {
            const more = detail?.();
            throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${more ? `\n${more}` : ''}`);
        }

        await new Promise((resolve) => setTimeout(resolve, 20));
    }
}
