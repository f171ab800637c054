// The strip above GraphiQL: the page's title, the server's note (a subgraph says why introspection
// needs the router's credential), and a box that turns a pasted token into request headers.
// It is rendered inside <GraphiQL> (so it may use GraphiQL's store) and portalled into #sawit-bar.
import { useEffect, useState } from 'react';
import { createPortal } from 'react-dom';
import { pick, useGraphiQL, useGraphiQLActions } from '@graphiql/react';
import { headersFromPaste, mergeHeaders } from './headers.js';

// `?token=...` on the page's URL presets the headers once; it is then dropped from the address bar
// (and so from the browser history), since a bearer token should not linger in a URL.
function tokenFromUrl() {
  const url = new URL(window.location.href);
  const token = url.searchParams.get('token');
  if (token === null) return null;
  url.searchParams.delete('token');
  window.history.replaceState(null, '', url.pathname + url.search + url.hash);
  return token;
}

export function TokenBar({ title, note, target }) {
  const { headerEditor, responseEditor, fetchError } = useGraphiQL(
    pick('headerEditor', 'responseEditor', 'fetchError'),
  );
  const { introspect } = useGraphiQLActions();
  const [pasted, setPasted] = useState('');
  const [status, setStatus] = useState('');
  const [fromUrl] = useState(tokenFromUrl);

  function apply(text) {
    const headers = headersFromPaste(text);
    if (!headers || !headerEditor) return false;
    headerEditor.setValue(mergeHeaders(headerEditor.getValue(), headers));
    setStatus(`Headers set: ${Object.keys(headers).join(', ')}`);
    // introspection sends these headers too: a subgraph shows its docs once the router's credential
    // is in, without a trip to the "Re-fetch GraphQL schema" button. The refusal GraphiQL had put in
    // the response pane goes once the schema is in (anything else there stays).
    const refusal = fetchError;
    introspect().then(() => {
      if (refusal && responseEditor && responseEditor.getValue() === refusal) responseEditor.setValue('');
    });
    return true;
  }

  useEffect(() => {
    if (fromUrl && headerEditor) apply(fromUrl);
    // once the headers editor exists; `apply` reads the current editor, so it is not a dependency
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [fromUrl, headerEditor]);

  function onSubmit(event) {
    event.preventDefault();
    if (apply(pasted)) setPasted('');
  }

  return createPortal(
    <>
      <span className="sawit-title">{title}</span>
      <form className="sawit-token" onSubmit={onSubmit} aria-label="Headers from a token">
        <label htmlFor="sawit-token-input">Token</label>
        <input
          id="sawit-token-input"
          name="token"
          type="text"
          autoComplete="off"
          spellCheck={false}
          placeholder='paste an access token, or {"Header": "value"}'
          value={pasted}
          onChange={(event) => setPasted(event.target.value)}
        />
        <button type="submit" disabled={!headerEditor}>
          Use token
        </button>
        <span className="sawit-status" role="status">
          {status}
        </span>
      </form>
      {note ? (
        <p className="sawit-note" role="note">
          {note}
        </p>
      ) : null}
    </>,
    target,
  );
}
