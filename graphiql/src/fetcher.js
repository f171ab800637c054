// A plain JSON POST to the page's own endpoint. `Content-Type: application/json` is what gets the
// request past the router's CSRF prevention; the response is whatever JSON the server sent (errors
// included), and a non-JSON answer becomes a GraphQL-shaped error instead of a broken editor.
export function createFetcher(endpoint) {
  return async (params, options) => {
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: {
        accept: 'application/json',
        'content-type': 'application/json',
        ...(options?.headers || {}),
      },
      body: JSON.stringify(params),
      credentials: 'same-origin',
    });
    const text = await response.text();
    try {
      return JSON.parse(text);
    } catch {
      return {
        errors: [{ message: `HTTP ${response.status}: the server did not answer JSON`, body: text.slice(0, 500) }],
      };
    }
  };
}
