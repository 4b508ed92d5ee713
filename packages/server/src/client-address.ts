import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';

/**
 * The address of the client behind a request, for per-IP limits. The TCP
 * peer, unless it is one of the trusted reverse proxies (`TRUSTED_PROXIES`):
 * then the nearest address in `X-Forwarded-For` that is not a trusted proxy
 * itself. Entries further left were written by the client and are never
 * believed, so nobody escapes a limit by sending the header.
 */
export class ClientAddresses {
    readonly #trusted = new BlockList();
    readonly #any: boolean;

    /** `proxies`: addresses and CIDR ranges as `TRUSTED_PROXIES` validated them. */
    constructor(proxies: readonly string[]) {
        for (const entry of proxies) {
            const [address, bits] = entry.split('/') as [string, string | undefined];
            const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
            if (bits === undefined) {
                this.#trusted.addAddress(address, family);
            }
            else {
                this.#trusted.addSubnet(address, Number(bits), family);
            }
        }

        this.#any = proxies.length > 0;
    }

    of(req: IncomingMessage): string {
        const peer = req.socket.remoteAddress ?? '';
        if (!this.#any || !this.#isTrusted(peer)) {
            return peer;
        }

        const header = req.headers['x-forwarded-for'];
        const hops = (Array.isArray(header) ? header.join(',') : header ?? '').split(',').map((hop) => hop.trim());
        for (let i = hops.length - 1; i >= 0; i--) {
            const hop = hops[i]!;
            if (isIP(hop) === 0) {
                return peer;            // garbage from the client: the proxy is all we know
            }

            if (!this.#isTrusted(hop)) {
                return hop;
            }
        }

        return peer;
    }

    #isTrusted(address: string): boolean {
        const plain = address.startsWith('::ffff:') ? address.slice(7) : address;
        const family = isIP(plain);
        return family !== 0 && this.#trusted.check(plain, family === 6 ? 'ipv6' : 'ipv4');
    }
}
