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

function withParams(path, params) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") query.set(key, value);
  }
  const qs = query.toString();
  return qs ? `${path}?${qs}` : path;
}

export async function getJSON(path, params = {}) {
  const response = await fetch(withParams(path, params), { headers: { Accept: "application/json" } });
  return (await check(response)).json();
}

// A binary reply (e.g. /api/points?format=binary: typed arrays, pointbytes.py) as an
// ArrayBuffer; errors still come as JSON.
export async function getBinary(path, params = {}) {
  const response = await fetch(withParams(path, params), { headers: { Accept: "application/octet-stream, application/json" } });
  return (await check(response)).arrayBuffer();
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
