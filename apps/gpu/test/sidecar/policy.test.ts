import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DEMO_POLICY_FILE, loadPolicy, PolicyFileError } from '../../src/sidecar/index.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'policy-test-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('loadPolicy', () => {
  it('returns id, version, the sha256 of the file bytes and the document', async () => {
    const policy = await loadPolicy(DEMO_POLICY_FILE);
    const bytes = await readFile(DEMO_POLICY_FILE);
    expect(policy.id).toBe('violent-threats');
    expect(policy.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(policy.document.sections.length).toBeGreaterThan(1);
    expect(policy.document.fixture?.flagWords).toEqual(
      expect.arrayContaining(['kill', 'bomb', 'attack', 'shoot']),
    );
  });

  it('changes the sha256 when only the formatting changes', async () => {
    const reformatted = path.join(dir, 'reformatted.json');
    await writeFile(reformatted, JSON.stringify(JSON.parse(await readFile(DEMO_POLICY_FILE, 'utf8'))));
    const [a, b] = await Promise.all([loadPolicy(DEMO_POLICY_FILE), loadPolicy(reformatted)]);
    expect(b.document).toEqual(a.document);
    expect(b.sha256).not.toBe(a.sha256);
  });

  it.each([
    ['missing.json', undefined, /missing\.json: cannot be read \(ENOENT\)/],
    ['broken.json', '{"id": ', /broken\.json: is not valid JSON/],
    [
      'no-sections.json',
      '{"id":"p","version":"1","title":"t","sections":[]}',
      /no-sections\.json: is invalid at sections/,
    ],
    [
      'bad-words.json',
      '{"id":"p","version":"1","title":"t","sections":[{"name":"a","text":"b"}],"fixture":{"flagWords":[""]}}',
      /bad-words\.json: is invalid at fixture\.flagWords\.0/,
    ],
  ])('names the file and the problem: %s', async (name, content, message) => {
    const file = path.join(dir, name);
    if (content !== undefined) await writeFile(file, content);
    const error = await loadPolicy(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PolicyFileError);
    expect((error as Error).message).toMatch(message);
  });
});
