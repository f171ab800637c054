// Hive Gateway as the public gateways benchmark configures it (run with --jit): identical
// in-flight client requests share one execution, and (its default) identical in-flight subgraph
// requests share one fetch.
import { defineConfig } from '@graphql-hive/gateway';

export const gatewayConfig = defineConfig({
  inboundInflightRequestDeduplication: true,
});
