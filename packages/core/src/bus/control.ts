/** A cross-instance command (JSON object). */
export type ControlMessage = Record<string, unknown>;

/** Receives control messages; `origin` is the sender's instance id. */
export type ControlListener = (message: ControlMessage, origin: string) => void;

/** The local side of the control channel: its listeners and how a raw message reaches them. */
export class ControlListeners {
    private readonly listeners = new Set<ControlListener>();

    constructor(private readonly onError: (err: Error) => void) {}

    /** Adds a listener; returns the function that removes it. */
    add(listener: ControlListener): () => void {
        const entry: ControlListener = (message, origin) => listener(message, origin);
        this.listeners.add(entry);
        return () => this.listeners.delete(entry);
    }

    /** Parses `origin + '\n' + json` and hands it to every listener. */
    dispatch(raw: string): void {
        const cut = raw.indexOf('\n');
        let message: ControlMessage;
        try {
            message = JSON.parse(raw.slice(cut + 1)) as ControlMessage;
        }
        catch (err) {
            this.onError(err as Error);
            return;
        }

        const origin = raw.slice(0, cut);
        for (const listener of this.listeners) {
            try {
                listener(message, origin);
            }
            catch (err) {
                this.onError(err as Error);
            }
        }
    }

    /** Removes every listener. */
    clear(): void {
        this.listeners.clear();
    }
}
