// Builds GraphiQL 5 into dist/: index.html (a template the Python side fills in per endpoint) and
// hashed js/css/worker/font files under dist/assets/. `base` is the fixed prefix the router and
// every subgraph serve those files at (shared/graphiql.py mounts dist/assets at /graphiql/assets).
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/graphiql/',
  // JSX without @vitejs/plugin-react: the page needs no fast refresh, only the automatic runtime.
  esbuild: { jsx: 'automatic' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: false,
    // monaco-editor alone is a few MB; a warning about it on every build says nothing new.
    chunkSizeWarningLimit: 8000,
    rollupOptions: {
      onwarn(warning, warn) {
        // React libraries' "use client" lines mean nothing outside a server-components build.
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE') return;
        warn(warning);
      },
    },
  },
  // monaco-graphql's worker imports code that is split into chunks, which only module workers allow.
  worker: { format: 'es' },
});
