#!/usr/bin/env -S GLIBC_TUNABLES=glibc.malloc.mmap_threshold=98304:glibc.malloc.trim_threshold=131072 node
// The program npm links at install time: the build output, built first in a fresh source checkout.
import { existsSync } from 'node:fs';

const entry = new URL('./dist/bin.js', import.meta.url);
if (!existsSync(entry)) {
    (await import('../../scripts/build-checkout.js')).buildCheckout(entry);
}

await import(entry.href);
