import { Counter, Gauge, type Registry } from 'prom-client';

import type { EventSource } from '../events/send.js';
import type { Transport } from './connection.js';
import type { HubHooks } from './hub.js';

/** The real-time counters; every method is a no-op without a registry. */
export interface RealtimeMetrics {
    hooks: Omit<HubHooks, 'onError'>;
    published(source: EventSource): void;
    slowConsumer(): void;
}

/**
 * Registers the real-time metrics on the server's registry, when there is
 * one: `realtime_sockets{transport}`, `realtime_events_published_total{source}`,
 * `realtime_events_received_total` (events reaching this instance's fan-out),
 * `realtime_frames_serialized_total` (once per event and frame shape, not
 * per socket), `realtime_deliveries_total{transport}` and
 * `realtime_slow_consumers_total`.
 */
export function realtimeMetrics(registry: Registry | undefined, sockets: () => Record<Transport, number>): RealtimeMetrics {
    if (!registry) {
        return { hooks: {}, published: () => undefined, slowConsumer: () => undefined };
    }

    const registers = [registry];
    new Gauge({
        name: 'realtime_sockets',
        help: 'Open WebSockets on this instance, by transport',
        labelNames: ['transport'] as const,
        registers,
        collect() {
            const counts = sockets();
            this.set({ transport: 'nes' }, counts.nes);
            this.set({ transport: 'ws' }, counts.ws);
        }
    });
    const published = new Counter({ name: 'realtime_events_published_total', help: 'Client events published by this instance, by source', labelNames: ['source'] as const, registers });
    const received = new Counter({ name: 'realtime_events_received_total', help: 'Events fanned out to local sockets by this instance', registers });
    const frames = new Counter({ name: 'realtime_frames_serialized_total', help: 'Frames built for fan-out (once per event and frame shape, not per socket)', registers });
    const delivered = new Counter({ name: 'realtime_deliveries_total', help: 'Event frames written to sockets, by transport', labelNames: ['transport'] as const, registers });
    const slow = new Counter({ name: 'realtime_slow_consumers_total', help: 'Sockets closed because they did not read fast enough', registers });
    const byTransport = { nes: delivered.labels('nes'), ws: delivered.labels('ws') };
    const bySource = { http: published.labels('http'), nes: published.labels('nes'), ws: published.labels('ws') };

    return {
        hooks: {
            onEvent: () => received.inc(),
            onFrame: () => frames.inc(),
            onDeliver: (transport, count) => byTransport[transport].inc(count)
        },
        published: (source) => bySource[source].inc(),
        slowConsumer: () => slow.inc()
    };
}
