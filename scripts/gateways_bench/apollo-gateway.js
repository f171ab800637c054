// Apollo Gateway as the public gateways benchmark runs it: ApolloGateway + ApolloServer standalone,
// no plugins, one process (node apollo-gateway.js SUPERGRAPH_FILE PORT).
'use strict';
const fs = require('fs');
const { ApolloServer } = require('@apollo/server');
const { startStandaloneServer } = require('@apollo/server/standalone');
const { ApolloGateway } = require('@apollo/gateway');

const [sdlPath, port] = process.argv.slice(2);
const gateway = new ApolloGateway({ supergraphSdl: fs.readFileSync(sdlPath, 'utf8') });
const server = new ApolloServer({ gateway });
startStandaloneServer(server, { listen: { host: '127.0.0.1', port: Number(port) } })
  .then(({ url }) => console.log(`apollo gateway ready at ${url}`))
  .catch((error) => {
    console.error(error);
    process.exit(1);
  });
