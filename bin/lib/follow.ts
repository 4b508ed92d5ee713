/** Ends a follow: without an error it resolves, with one it rejects. */
export type StopFollowing = (err?: unknown) => void;

/**
 * The life of a command that follows something live (`ws tail`, `file cat --follow`): `start`
 * begins following and returns its clean-up. It ends on SIGINT/SIGTERM or when the reader of
 * stdout leaves (`| head`): resolves; or when `start`'s stream calls `stop(err)`: rejects. The
 * clean-up runs once, and is awaited, before the promise settles.
 */
export function follow(start: (stop: StopFollowing) => () => unknown): Promise<void> {
    return new Promise((resolve, reject) => {
        let ending: { err: unknown } | undefined;
        let started = false;
        const settle = async () => {
            try {
                await cleanUp();
            }
            catch {
                // closing what is already broken: the reason to stop is what counts
            }

            if (ending!.err === undefined) {
                resolve();
            }
            else {
                reject(ending!.err as Error);
            }
        };
        const stop: StopFollowing = (err) => {
            if (ending) {
                return;
            }

            ending = { err };
            process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
            process.stdout.off('error', onOutputError);
            if (started) {
                void settle();
            }
        };
        const onSignal = () => stop();
        const onOutputError = (err: NodeJS.ErrnoException) => stop(err.code === 'EPIPE' ? undefined : err);

        process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
        process.stdout.on('error', onOutputError);
        const cleanUp = start(stop);
        started = true;
        if (ending) {
            void settle();
        }
    });
}
