// The four subgraphs of the public graphql-gateways-benchmark workload (accounts, inventory,
// products, reviews), written here in Node with @apollo/subgraph so that they cost little CPU next
// to the gateway under test. Same schema, data (data.json) and answers as the benchmark's Rust
// subgraphs, including one quirk: inventory resolves a Product from its own rows, which hold no
// price or weight, so `shippingEstimate` is null although the gateway sends price and weight
// (@requires). The workload is the same either way: every gateway must fetch and send them.
//
//   node subgraphs.js PORT      -> http://127.0.0.1:PORT/{accounts,inventory,products,reviews}
'use strict';
const fs = require('fs');
const http = require('http');
const path = require('path');
const { parse, validate, execute } = require('graphql');
const { buildSubgraphSchema } = require('@apollo/subgraph');

const data = JSON.parse(fs.readFileSync(path.join(__dirname, 'data.json'), 'utf8'));
const FED = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@external", "@requires", "@provides"])';

const byId = (rows, key) => new Map(rows.map((row) => [row[key], row]));
const users = byId(data.users, 'id');
const products = byId(data.products, 'upc');
const inventory = byId(data.inventory, 'upc');
const reviews = byId(data.reviews, 'id');
const firstTwoReviews = () => data.reviews.slice(0, 2);

const subgraphs = {
  accounts: buildSubgraphSchema({
    typeDefs: parse(`${FED}
      type Query { me: User  user(id: ID!): User  users: [User] }
      type User @key(fields: "id") { id: ID!  name: String  username: String  birthday: Int }`),
    resolvers: {
      Query: {
        me: () => data.users[0],
        user: (_, { id }) => users.get(id) ?? null,
        users: () => data.users,
      },
      User: { __resolveReference: (ref) => users.get(ref.id) ?? null },
    },
  }),
  inventory: buildSubgraphSchema({
    typeDefs: parse(`${FED}
      type Product @key(fields: "upc") {
        upc: String!
        weight: Int @external
        price: Int @external
        inStock: Boolean
        shippingEstimate: Int @requires(fields: "price weight")
      }`),
    resolvers: {
      Product: {
        __resolveReference: (ref) => {
          const row = inventory.get(ref.upc);
          return row ? { upc: row.upc, inStock: row.inStock, price: null, weight: null } : null;
        },
        shippingEstimate: (product) => {
          if (product.price == null) return null;
          if (product.price > 1000) return 0;
          return product.weight == null ? null : Math.trunc(product.weight / 2);
        },
      },
    },
  }),
  products: buildSubgraphSchema({
    typeDefs: parse(`${FED}
      type Query { topProducts(first: Int = 5): [Product] }
      type Product @key(fields: "upc") { upc: String!  name: String  price: Int  weight: Int }`),
    resolvers: {
      Query: { topProducts: (_, { first }) => data.products.slice(0, first ?? 5) },
      Product: { __resolveReference: (ref) => products.get(ref.upc) ?? null },
    },
  }),
  reviews: buildSubgraphSchema({
    typeDefs: parse(`${FED}
      type Review @key(fields: "id") {
        id: ID!
        body: String
        product: Product
        author: User @provides(fields: "username")
      }
      type User @key(fields: "id") { id: ID!  username: String @external  reviews: [Review] }
      type Product @key(fields: "upc") { upc: String!  reviews: [Review] }`),
    resolvers: {
      Review: {
        __resolveReference: (ref) => reviews.get(ref.id) ?? null,
        product: (review) => ({ upc: review.product }),
        author: () => ({ id: '1', username: 'urigo', reviews: firstTwoReviews() }),
      },
      User: {
        __resolveReference: (ref) => ({ id: ref.id, username: 'user', reviews: firstTwoReviews() }),
      },
      Product: {
        __resolveReference: (ref) => ({ upc: ref.upc }),
        reviews: (product) => data.reviews.filter((review) => review.product === product.upc),
      },
    },
  }),
};

// Parsed and validated documents per (subgraph, query text): gateways send the same few again and again.
const documents = new Map();
function documentFor(name, schema, query) {
  const key = `${name}\n${query}`;
  let entry = documents.get(key);
  if (entry === undefined) {
    try {
      const document = parse(query);
      const errors = validate(schema, document);
      entry = errors.length ? { errors } : { document };
    } catch (error) {
      entry = { errors: [error] };
    }
    if (documents.size < 1000) documents.set(key, entry);
  }
  return entry;
}

function reply(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

let served = 0; // GraphQL requests answered, read by the benchmark at GET /stats

const server = http.createServer((req, res) => {
  const name = req.url.split('?')[0].replace(/^\//, '');
  if (req.method === 'GET' && name === 'health') return reply(res, 200, { status: 'ok' });
  if (req.method === 'GET' && name === 'stats') return reply(res, 200, { served });
  const schema = subgraphs[name];
  if (!schema || req.method !== 'POST') return reply(res, 404, { errors: [{ message: 'not found' }] });
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', async () => {
    let body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return reply(res, 400, { errors: [{ message: 'invalid JSON' }] });
    }
    const entry = documentFor(name, schema, String(body.query ?? ''));
    if (entry.errors) return reply(res, 400, { errors: entry.errors.map((e) => ({ message: e.message })) });
    const result = await execute({
      schema,
      document: entry.document,
      variableValues: body.variables,
      operationName: body.operationName,
    });
    served += 1;
    reply(res, 200, result);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.argv[2] || 4200), '127.0.0.1', () => {
  console.log(`benchmark subgraphs at http://127.0.0.1:${server.address().port}/{accounts,inventory,products,reviews}`);
});
