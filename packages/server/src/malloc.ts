/**
 * The glibc malloc settings `collab-server` runs with (its launcher starts
 * node through `#!/usr/bin/env -S GLIBC_TUNABLES=… node`), and `npm start`
 * too: a block of 96 KiB or more (a large document's update or sleeping
 * state, a large request body) gets pages of its own, given back to the
 * system as soon as it is freed, and free memory at the top of a heap is
 * given back past 128 KiB. With glibc's defaults such blocks come from its
 * heaps, which keep most of what was freed: a server that held a thousand
 * 100 KiB documents kept about 40 % more memory than it needed for them,
 * and did not give it back once they were closed. Set it yourself when you
 * start the server another way (`node …/dist/bin.js`, a container's entry
 * point). Other C libraries ignore it.
 */
export const GLIBC_TUNABLES = 'glibc.malloc.mmap_threshold=98304:glibc.malloc.trim_threshold=131072';
