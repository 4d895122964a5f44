import { describe, expect, it } from '@jest/globals';
import { Writable } from 'node:stream';
import { createLogger, redactUrl } from '../src/index.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { lines, destination };
}

describe('createLogger', () => {
  it('writes JSON with the component name and redacts secrets', () => {
    const { lines, destination } = capture();
    const log = createLogger({ name: 'storage', destination, pretty: false });
    log.info(
      { s3: { secretKey: 'hunter2', bucket: 'b' }, password: 'pw', key: 'archives/x.tar' },
      'uploaded',
    );
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      name: 'storage',
      msg: 'uploaded',
      s3: { secretKey: '***', bucket: 'b' },
      password: '***',
      key: 'archives/x.tar',
    });
  });
});

describe('redactUrl', () => {
  it('hides the password of a connection string', () => {
    expect(redactUrl('postgresql://app:s3cret@db:5432/audio')).toBe('postgresql://app:***@db:5432/audio');
    expect(redactUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
  });
});
