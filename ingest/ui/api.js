// Calls the API with the tab's token. A 401 (or 403) asks for a token and retries; the token
// lives in sessionStorage for this tab only and travels in the Authorization header, never in a URL.

const TOKEN_KEY = 'nodeagg.token';

export class ApiError extends Error {
  constructor(status, code, message, retryAfter) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

let tokenWanted = null;

export function hasToken() {
  return sessionStorage.getItem(TOKEN_KEY) !== null;
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** GET a JSON route; answers the parsed body or throws ApiError (AbortError when aborted). */
export async function getJson(path, { signal } = {}) {
  for (;;) {
    const token = sessionStorage.getItem(TOKEN_KEY);
    const headers = { Accept: 'application/json' };
    if (token !== null) headers.Authorization = `Bearer ${token}`;
    let response;
    try {
      response = await fetch(path, { headers, signal, cache: 'no-store', credentials: 'omit', redirect: 'error' });
    } catch (error) {
      if (error.name === 'AbortError') throw error;
      throw new ApiError(0, 'UNREACHABLE', 'The service did not answer.');
    }
    const body = await response.json().catch(() => null);
    if (response.status === 401 || response.status === 403) {
      // Forget the token this request was refused with, not one given meanwhile.
      if (token !== null && sessionStorage.getItem(TOKEN_KEY) === token) forgetToken();
      const problem =
        response.status === 403
          ? 'That token lacks the read scope; give one that has it.'
          : token !== null
            ? 'That token was not accepted.'
            : null;
      await askForToken(problem, signal);
      continue;
    }
    if (!response.ok) {
      throw new ApiError(
        response.status,
        body?.error?.code ?? `HTTP_${response.status}`,
        body?.error?.message ?? response.statusText,
        response.headers.get('Retry-After'),
      );
    }
    return body;
  }
}

/** Shows the token dialog once, however many requests are waiting; resolves when a token is given. */
function askForToken(problem, signal) {
  const dialog = document.getElementById('token-dialog');
  const problemText = document.getElementById('token-problem');
  problemText.hidden = problem === null;
  problemText.textContent = problem ?? '';
  tokenWanted ??= new Promise((resolve) => {
    const form = document.getElementById('token-form');
    const input = document.getElementById('token-input');
    const submitted = (event) => {
      event.preventDefault();
      const value = input.value.trim();
      if (value === '') return;
      sessionStorage.setItem(TOKEN_KEY, value);
      input.value = '';
      form.removeEventListener('submit', submitted);
      dialog.close();
      tokenWanted = null;
      document.dispatchEvent(new CustomEvent('token-changed'));
      resolve();
    };
    form.addEventListener('submit', submitted);
    // The page cannot show anything without a token: Escape does not close the dialog.
    dialog.addEventListener('cancel', (event) => event.preventDefault());
    if (!dialog.open) dialog.showModal();
    input.focus();
  });
  if (!signal) return tokenWanted;
  return Promise.race([
    tokenWanted,
    new Promise((_, reject) => signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')), { once: true })),
  ]);
}
