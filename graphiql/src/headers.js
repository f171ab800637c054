// Turns what a user pastes into the token box into request headers: a JSON object (for example the
// output of `sawit-router-token --json`) is merged as it is; anything else is a bearer token (a
// leading "Bearer " is accepted too), which becomes the Authorization header.
export function headersFromPaste(pasted) {
  const text = (pasted || '').trim();
  if (!text) return null;
  if (text.startsWith('{')) {
    try {
      const parsed = JSON.parse(text);
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed;
    } catch {
      // not JSON after all: fall through and treat it as a token
    }
  }
  return { Authorization: `Bearer ${text.replace(/^bearer\s+/i, '')}` };
}

// The headers editor's text with `extra` merged in; what is there already (another header the user
// typed) stays, unless it was not JSON, in which case the new headers replace it.
export function mergeHeaders(current, extra) {
  let base = {};
  try {
    const parsed = JSON.parse(current || '{}');
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) base = parsed;
  } catch {
    base = {};
  }
  return JSON.stringify({ ...base, ...extra }, null, 2);
}
