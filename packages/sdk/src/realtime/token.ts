/** The validity window of a JWT, in ms since the epoch. */
export interface TokenTimes {
    issuedAt: number;
    expiresAt: number;
}

/** `iat` and `exp` of a JWT's payload (decoded with `atob`, not verified); undefined when it has none. */
export function tokenTimes(token: string | undefined): TokenTimes | undefined {
    const part = token?.split('.')[1];
    if (!part) {
        return undefined;
    }

    try {
        const base64 = part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '=');
        const { iat, exp } = JSON.parse(atob(base64)) as { iat?: unknown; exp?: unknown };
        if (typeof exp !== 'number') {
            return undefined;
        }

        return { issuedAt: typeof iat === 'number' ? iat * 1000 : exp * 1000, expiresAt: exp * 1000 };
    }
    catch {
        return undefined;
    }
}

/** How long before expiry a token is renewed: a third of its lifetime, between 1 s and 60 s. */
export function refreshMargin(times: TokenTimes): number {
    return Math.min(60_000, Math.max(1_000, (times.expiresAt - times.issuedAt) / 3));
}

/** Whether a token should be renewed now (expired, or within its refresh margin). */
export function needsRefresh(token: string | undefined, now = Date.now()): boolean {
    const times = tokenTimes(token);
    return times !== undefined && times.expiresAt - refreshMargin(times) <= now;
}
