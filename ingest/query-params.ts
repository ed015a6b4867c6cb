/** Parses query parameters; a bad value is a 400 that names the parameter and its bounds. */
import type { Context } from 'koa';
import { BadRequestError } from '../shared/errors';

export function numberParam(ctx: Context, name: string, fallback: number, min: number, max: number): number {
  const raw = ctx.query[name];
  if (raw === undefined || raw === '') return fallback;
  const text = Array.isArray(raw) ? raw[raw.length - 1]! : raw;
  const value = Number(text);
  if (!/^\s*[0-9.eE+]+\s*$/.test(text) || !Number.isFinite(value) || value <= min || value > max) {
    throw new BadRequestError('INVALID_QUERY', `${name} must be a number greater than ${min} and at most ${max}.`, [
      { field: name, message: `got "${text.slice(0, 40)}"` },
    ]);
  }
  return value;
}

export function stringParam(ctx: Context, name: string): string | undefined {
  const raw = ctx.query[name];
  if (raw === undefined || raw === '') return undefined;
  return Array.isArray(raw) ? raw[raw.length - 1] : raw;
}

export function integerParam(ctx: Context, name: string, fallback: number, min: number, max: number): number {
  const raw = ctx.query[name];
  if (raw === undefined || raw === '') return fallback;
  const text = Array.isArray(raw) ? raw[raw.length - 1]! : raw;
  const value = /^\d{1,9}$/.test(text) ? Number(text) : NaN;
  if (!(value >= min && value <= max)) {
    throw new BadRequestError('INVALID_QUERY', `${name} must be an integer from ${min} to ${max}.`, [
      { field: name, message: `got "${text.slice(0, 40)}"` },
    ]);
  }
  return value;
}
