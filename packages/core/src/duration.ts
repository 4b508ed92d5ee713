const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** Parses `30`, `30s`, `15m`, `12h` or `7d` into seconds; `null` when malformed. */
export function parseDuration(value: string): number | null {
    const match = /^(\d+)([smhd]?)$/.exec(value.trim());
    if (!match) {
        return null;
    }

    const seconds = Number(match[1]) * UNITS[match[2] || 's']!;
    return seconds > 0 ? seconds : null;
}
