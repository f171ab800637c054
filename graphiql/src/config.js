// What the server says about this page: shared/graphiql.py writes it into the HTML as
// <script type="application/json" id="sawit-graphiql-config"> (JSON, not code, so no inline script
// runs). Everything has a default so the bare dist/index.html still works against its own URL.
export function readConfig() {
  const element = document.getElementById('sawit-graphiql-config');
  let given = {};
  if (element) {
    try {
      given = JSON.parse(element.textContent || '{}');
    } catch {
      given = {};
    }
  }
  return {
    title: given.title || 'GraphQL',
    endpoint: given.endpoint || window.location.pathname,
    note: given.note || '',
    defaultQuery: given.defaultQuery || '{ __typename }\n',
  };
}
