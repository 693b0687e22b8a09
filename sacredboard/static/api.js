// Talking to the board's JSON API (docs/sacredboard.md). Every edit carries the CSRF
// header the server requires.

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

async function check(response) {
  if (response.ok) return response;
  let message = `${response.status} ${response.statusText}`;
  try {
    message = (await response.json()).error || message;
  } catch (_) {
    // not JSON: keep the status line
  }
  throw new ApiError(message, response.status);
}

export async function getJSON(path, params = {}) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") query.set(key, value);
  }
  const qs = query.toString();
  const response = await fetch(qs ? `${path}?${qs}` : path, { headers: { Accept: "application/json" } });
  return (await check(response)).json();
}

export async function send(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: { "Content-Type": "application/json", "X-Sacredboard": "1" },
    body: JSON.stringify(body),
  });
  return (await check(response)).json();
}

export const runPath = (id) => `/api/runs/${encodeURIComponent(id)}`;
export const filePath = (id, kind, name) =>
  `${runPath(id)}/${kind}/${name.split("/").map(encodeURIComponent).join("/")}`;
