// Hive Gateway settings for serving a supergraph SDL composed by `sawit-compose` (see docs/scaling.md):
//   npx hive-gateway supergraph supergraph.graphql --config-path gateway.config.ts --port 4000
// It forwards Authorization and X-Request-ID to the subgraphs, as our router does, and sends
// X-Router-Secret = $ROUTER_SHARED_SECRET (set the same on every subgraph: they answer _entities and
// _service only to the router's credential).
// tests/gateway runs Hive Gateway with this very file and compares its answers with our router's.
import { defineConfig } from '@graphql-hive/gateway';

export const gatewayConfig = defineConfig({
  propagateHeaders: {
    fromClientToSubgraphs({ request }) {
      return {
        authorization: request.headers.get('authorization') ?? undefined,
        'x-request-id': request.headers.get('x-request-id') ?? undefined,
        'x-router-secret': process.env.ROUTER_SHARED_SECRET || undefined,
      };
    },
  },
});
