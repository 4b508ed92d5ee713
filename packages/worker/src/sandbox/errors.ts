/**
 * The sandbox itself could not start (bwrap missing, spawn failed, the job
 * directory could not be made). A system failure the caller should retry,
 * unlike a program's own failure, which is a {@link RunResult}.
 */
export class SandboxStartError extends Error {
    override readonly name = 'SandboxStartError';

    /** @param message what failed; @param options.cause the underlying error */
    constructor(message: string, options?: { cause?: unknown }) {
        super(message, options);
    }
}
