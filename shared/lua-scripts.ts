/** Loads the Lua scripts of shared/lua/ (one script per file; the build copies them). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export function loadLuaScript(name: string): string {
  return readFileSync(join(__dirname, 'lua', `${name}.lua`), 'utf8');
}
