// Apollo Gateway (Node) serving a supergraph SDL composed by `sawit-compose` (see docs/scaling.md).
//   npm install @apollo/gateway@2.14.4 @apollo/server@5.5.1 graphql@16.11.0
//   node apollo-gateway.js supergraph.graphql 4000        (HOST=0.0.0.0 to listen beyond loopback)
// It forwards Authorization and X-Request-ID to the subgraphs, as our router does, and proves itself
// to them with X-Router-Secret = $ROUTER_SHARED_SECRET (the subgraphs answer _entities and _service
// only to the router's credential; set the same ROUTER_SHARED_SECRET on every subgraph).
// tests/gateway runs this very file against a live stack and compares its answers with our router's.
'use strict';
const fs = require('fs');
const { ApolloServer } = require('@apollo/server');
const { startStandaloneServer } = require('@apollo/server/standalone');
const { ApolloGateway, RemoteGraphQLDataSource } = require('@apollo/gateway');

const [sdlPath, port] = process.argv.slice(2);
const FORWARDED = ['authorization', 'x-request-id'];

class ForwardingDataSource extends RemoteGraphQLDataSource {
  willSendRequest({ request, context }) {
    for (const name of FORWARDED) {
      if (context && context[name]) request.http.headers.set(name, context[name]);
    }
    if (process.env.ROUTER_SHARED_SECRET) {
      request.http.headers.set('x-router-secret', process.env.ROUTER_SHARED_SECRET);
    }
  }
}

const gateway = new ApolloGateway({
  supergraphSdl: fs.readFileSync(sdlPath, 'utf8'),
  buildService: ({ url }) => new ForwardingDataSource({ url }),
});
const server = new ApolloServer({ gateway, introspection: true });
startStandaloneServer(server, {
  listen: { host: process.env.HOST || '127.0.0.1', port: Number(port) },
  context: async ({ req }) => Object.fromEntries(FORWARDED.map((h) => [h, req.headers[h]])),
})
  .then(({ url }) => console.log(`apollo gateway ready at ${url}`))
  .catch((error) => {
    console.error(error);
    process.exit(1);
  });
