import type { Plugin } from '@hapi/hapi';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Prometheus metrics of one server: `server.app.metrics` is its own
 * prom-client `Registry` (never the global one, so several servers can live
 * in one process). It holds the default process metrics,
 * `http_requests_total{method,route,status}` and
 * `http_request_duration_seconds{method,route}`, labelled by the route's
 * pattern (`/api/projects/projects/{id}`), never the raw path. Other plugins
 * add their gauges to the same registry: register this plugin first, or
 * declare `dependencies: ['collab-metrics']`. `GET /metrics` is in the ops plugin.
 */
export const metricsPlugin: Plugin<void> = {
    name: 'collab-metrics',
    version: '1.0.0',
    register: (server) => {
        const registry = new Registry();
        server.app.metrics = registry;
        collectDefaultMetrics({ register: registry });

        const requests = new Counter({
            name: 'http_requests_total',
            help: 'HTTP requests answered, by method, route pattern and status',
            labelNames: ['method', 'route', 'status'] as const,
            registers: [registry]
        });
        const duration = new Histogram({
            name: 'http_request_duration_seconds',
            help: 'Time from receiving a request to sending its response, by method and route pattern',
            labelNames: ['method', 'route'] as const,
            buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
            registers: [registry]
        });

        server.events.on('response', (request) => {
            const route = request.route.path;                   // hapi's not-found route is '/{p*}': bounded cardinality
            const method = request.method.toUpperCase();
            const response = request.response;
            const status = response && 'isBoom' in response && response.isBoom ? response.output.statusCode : (response as { statusCode?: number } | null)?.statusCode;
            requests.inc({ method, route, status: String(status ?? 0) });
            const { received, completed, responded } = request.info;
            const end = completed || responded;                 // 0 when the client left before a response
            if (end) {
                duration.observe({ method, route }, (end - received) / 1000);
            }
        });
    }
};
