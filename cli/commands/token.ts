/** `nodeagg token create`: a new random API token and its line for the tokens file (nothing is sent anywhere). */
import { randomBytes } from 'node:crypto';
import { Command } from 'commander';
import { SCOPES } from '../../shared/auth/scopes';
import { nameAndScopeProblems } from '../../shared/auth/token-file';
import { hashToken } from '../../shared/auth/token-store';
import { usageError } from '../cli-error';
import { globalsOf } from '../global-options';
import { printJson, printLine } from '../output';

export interface CreatedToken {
  name: string;
  scopes: string[];
  token: string;
  line: string;
}

/** 32 random bytes, base64url: 43 characters, 256 bits. */
export function createToken(name: string, scopes: string[]): CreatedToken {
  const token = randomBytes(32).toString('base64url');
  return { name, scopes, token, line: `${name} ${scopes.join(',')} ${hashToken(token).toString('hex')}` };
}

function createCommand(): Command {
  return new Command('create')
    .description('print a new random token and its line for API_TOKENS_FILE / API_TOKENS (only the hash goes in the file)')
    .requiredOption('--name <name>', 'what logs and metrics call the token (unique in the file), e.g. agents-eu or grafana')
    .requiredOption('--scopes <list>', `comma-separated scopes: ${SCOPES.join(', ')}`)
    .action((options: { name: string; scopes: string }, command: Command) => {
      const { json } = globalsOf(command);
      const scopes = [
        ...new Set(
          options.scopes
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
        ),
      ];
      const problems = nameAndScopeProblems(options.name, scopes);
      if (problems.length > 0) throw usageError(`token create: ${problems.join('; ')}`);
      const created = createToken(options.name, scopes);
      if (json) {
        printJson(created);
        return;
      }
      printLine(`token  ${created.token}`);
      printLine(`line   ${created.line}`);
      process.stderr.write(
        'Give the token to the client (NODEAGG_TOKEN or --token) and add the line to the tokens file; the token is not shown again.\n',
      );
    });
}

export function tokenCommand(): Command {
  return new Command('token').description('API tokens: create one (see docs/SECURITY.md)').addCommand(createCommand());
}
