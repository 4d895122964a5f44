import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import pg from 'pg';

export const MONITORING_SQL = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../../infra/monitoring.sql',
);

/** Output rows (`a|b|c`, NULL as empty) of each `\echo '## title'` section. */
export type Sections = Record<string, string[]>;

/** Runs infra/monitoring.sql with psql, unaligned and tuples only, timestamps in UTC. */
export async function runWithPsql(
  psql: string,
  databaseUrl: string,
  vars: Record<string, string>,
): Promise<Sections> {
  const args = ['-X', '-A', '-t', '-F', '|', '-d', databaseUrl, '-f', MONITORING_SQL];
  for (const [name, value] of Object.entries(vars)) args.push('-v', `${name}=${value}`);
  const { stdout } = await execa(psql, args, { env: { PGTZ: 'UTC' } });
  return toSections(stdout.split('\n'));
}

/**
 * Runs the same file without psql (it is not in every CI image): drops the backslash commands, takes
 * the defaults from its `\set` lines, substitutes `:'name'` and sends each statement through pg with
 * every value as Postgres's own text, as psql prints it.
 */
export async function runWithoutPsql(databaseUrl: string, vars: Record<string, string>): Promise<Sections> {
  const lines = fs.readFileSync(MONITORING_SQL, 'utf8').split('\n');
  const values: Record<string, string> = {};
  for (const line of lines) {
    const match = /^\\if :\{\?(\w+)\} \\else \\set \w+ (.*) \\endif$/.exec(line);
    if (match) values[match[1]!] = match[2]!.replace(/^'(.*)'$/, '$1');
  }
  Object.assign(values, vars);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const out: string[] = [];
  try {
    await client.query("SET TIME ZONE 'UTC'");
    let statement = '';
    for (const line of lines) {
      const echo = /^\\echo '(.*)'$/.exec(line);
      if (echo) out.push(echo[1]!);
      if (line.startsWith('\\') || line.startsWith('--')) continue;
      statement += `${line}\n`;
      if (!line.trimEnd().endsWith(';')) continue;
      const text = statement.replace(/:'(\w+)'/g, (_, name: string) => {
        if (!(name in values)) throw new Error(`monitoring.sql uses :'${name}' but sets no default for it`);
        return `'${values[name]!.replaceAll("'", "''")}'`;
      });
      statement = '';
      const result = await client.query<string[]>({
        text,
        rowMode: 'array',
        types: { getTypeParser: () => (value: string) => value },
      });
      for (const row of result.rows) out.push(row.map((cell) => cell ?? '').join('|'));
    }
  } finally {
    await client.end();
  }
  return toSections(out);
}

function toSections(lines: string[]): Sections {
  const sections: Sections = {};
  let current: string[] | undefined;
  for (const line of lines) {
    if (line.startsWith('## ')) sections[line.slice(3)] = current = [];
    else if (line !== '' && current) current.push(line);
  }
  return sections;
}
