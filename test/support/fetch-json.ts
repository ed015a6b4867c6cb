/** Small fetch wrappers that return status, headers and parsed JSON. */
export interface JsonResponse {
  status: number;
  headers: Headers;
  body: any;
}

export async function request(url: string, init: RequestInit = {}): Promise<JsonResponse> {
  const response = await fetch(url, init);
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, headers: response.headers, body };
}

export function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<JsonResponse> {
  return request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

/** True when the URL answers 200; false on any other status or when nothing answers yet. */
export function answers200(url: string): Promise<boolean> {
  return request(url).then(
    (r) => r.status === 200,
    () => false,
  );
}
