import type { FastifyInstance } from 'fastify';

export type AriState = 'connecting' | 'connected' | 'disconnected' | 'closed';

export interface TelephonyStatus {
  ari: AriState;
  activeCalls: number;
}

const healthBody = {
  type: 'object',
  additionalProperties: false,
  required: ['status', 'ari', 'activeCalls'],
  properties: {
    status: { type: 'string', enum: ['ok', 'unavailable'] },
    ari: { type: 'string', enum: ['connecting', 'connected', 'disconnected', 'closed'] },
    activeCalls: { type: 'integer', minimum: 0 },
  },
} as const;

/**
 * GET /health, public. 200 `{status:'ok'}` only while the ARI websocket is connected; 503
 * `{status:'unavailable'}` otherwise (connecting, reconnecting, or closed during shutdown), with the
 * same body, so a load balancer or orchestrator stops sending calls to a router that cannot take them.
 */
export function healthRoutes(app: FastifyInstance, telephonyStatus: () => TelephonyStatus): void {
  app.get('/health', { config: { public: true }, schema: { response: { 200: healthBody, 503: healthBody } } }, async (_request, reply) => {
    const { ari, activeCalls } = telephonyStatus();
    const up = ari === 'connected';
    return reply.code(up ? 200 : 503).send({ status: up ? 'ok' : 'unavailable', ari, activeCalls });
  });
}
