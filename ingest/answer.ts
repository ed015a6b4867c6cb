/**
 * Sets a write route's answer on Koa's response object itself. `ctx.status = …` and `ctx.body = …`
 * go through Koa's delegating setters, which store `this.response[name]` with the name in a
 * variable: behind the router V8 did not make that store fast, and handed each one to its
 * runtime, which looks up and calls the response's own setter. A single POST made three such
 * calls (status, body, and the length Koa's respond() sets after stringifying a JSON body),
 * about 15,000 of its instructions with the setters' own work (docs/BENCHMARKS.md). A JSON
 * answer goes as its text, its type set first, so respond() sends it as it is.
 */
import type { Context } from 'koa';

const JSON_UTF8 = 'application/json; charset=utf-8';

/**
 * An answer already written as JSON, for the single-sample POST's answer, whose values are
 * stream ids and tokens (digits, `-`, `_`, `.`: nothing to escape). JSON.stringify of the
 * answer's object was about 3,900 instructions of a POST's 154,000 (docs/BENCHMARKS.md).
 */
export class JsonText {
  constructor(readonly text: string) {}
}

/** `body`: a Buffer is sent as it is (its type set by the route), JsonText as its text, anything else as JSON. */
export function setAnswer(ctx: Context, status: number, body: unknown): void {
  const response = ctx.response;
  response.status = status;
  if (Buffer.isBuffer(body)) {
    response.body = body;
    return;
  }
  response.set('Content-Type', JSON_UTF8);
  response.body = body instanceof JsonText ? body.text : JSON.stringify(body);
}
