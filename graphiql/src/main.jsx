// GraphiQL 5 for one endpoint (the router's /graphql or a subgraph's): docs, the explorer and the
// history plugins, the headers editor shown and persisted, and a token box above it all. Every
// file it loads (code, css, monaco's workers, fonts) comes from this server's /graphiql/assets/.
import 'graphiql/setup-workers/vite';
import 'graphiql/style.css';
import '@graphiql/plugin-explorer/style.css';
import './page.css';

import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { GraphiQL, HISTORY_PLUGIN } from 'graphiql';
import { explorerPlugin } from '@graphiql/plugin-explorer';
import { readConfig } from './config.js';
import { createFetcher } from './fetcher.js';
import { TokenBar } from './TokenBar.jsx';

const config = readConfig();
const fetcher = createFetcher(config.endpoint);
const plugins = [HISTORY_PLUGIN, explorerPlugin()];

document.title = config.title;

createRoot(document.getElementById('graphiql')).render(
  <StrictMode>
    <GraphiQL
      fetcher={fetcher}
      plugins={plugins}
      defaultQuery={config.defaultQuery}
      isHeadersEditorEnabled
      defaultEditorToolsVisibility="headers"
      shouldPersistHeaders
    >
      <GraphiQL.Logo>{config.title}</GraphiQL.Logo>
      <TokenBar title={config.title} note={config.note} target={document.getElementById('sawit-bar')} />
    </GraphiQL>
  </StrictMode>,
);
