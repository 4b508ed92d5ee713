import type { Server } from '@hapi/hapi';

/** Options of `installShutdown()`. */
export interface ShutdownOptions {
    /** How long in-flight requests may take to finish before their connections are closed. */
    timeoutMs: number;
    /** Signals that start the shutdown. Default: SIGTERM and SIGINT. */
    signals?: NodeJS.Signals[];
    /** When stopping has not finished this long after the signal, the process exits 1 anyway. Default: `timeoutMs` + 5 s. */
    forceAfterMs?: number;
    /** Ends the process; replaceable for tests. Default: `process.exit`. */
    exit?: (code: number) => void;
}

/**
 * Drains the server on SIGTERM or SIGINT: it stops accepting connections,
 * `server.stop({timeout})` lets in-flight requests finish (and every plugin's
 * `onPreStop`/`onPostStop` close what it opened), then the process exits 0, or
 * 1 when stopping failed or hangs past `forceAfterMs` (a plugin stuck closing
 * a connection must not keep the process alive). A second signal while
 * draining exits 1 at once.
 * Returns a function that removes the signal handlers.
 */
export function installShutdown(server: Server, options: ShutdownOptions): () => void {
    const { timeoutMs, signals = ['SIGTERM', 'SIGINT'], forceAfterMs = timeoutMs + 5_000, exit = (code: number) => process.exit(code) } = options;
    let stopping = false;

    const onSignal = (signal: NodeJS.Signals) => {
        if (stopping) {
            server.app.logger.warn({ signal }, 'second signal while draining: exiting now');
            exit(1);
            return;
        }

        stopping = true;
        server.app.logger.info({ signal, timeoutMs }, 'shutting down: draining in-flight requests');
        const deadline = setTimeout(() => {
            server.app.logger.error({ forceAfterMs }, 'server did not stop in time: exiting');
            exit(1);
        }, forceAfterMs);
        const stopped = async () => {
            try {
                await server.stop({ timeout: timeoutMs });
            }
            catch (err) {
                clearTimeout(deadline);
                server.app.logger.error({ err }, 'server did not stop cleanly');
                exit(1);
                return;
            }

            clearTimeout(deadline);
            server.app.logger.info('server stopped');
            exit(0);
        };
        stopped().catch(() => exit(1));
    };

    for (const signal of signals) {
        process.on(signal, onSignal);
    }

    return () => {
        for (const signal of signals) {
            process.off(signal, onSignal);
        }
    };
}
