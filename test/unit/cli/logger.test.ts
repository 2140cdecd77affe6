import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, type LoggerOptions } from '../../../src/logger.js';

const logged = async (options: Omit<LoggerOptions, 'stream' | 'level'>): Promise<string> => {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  const logger = createLogger({ ...options, level: 'info', stream });
  logger.info('artifact pushed', { source: 'app', version: '1.0.1', durationMs: undefined });
  await logger.flush();
  return Buffer.concat(chunks).toString('utf8');
};

describe('createLogger', () => {
  it('writes JSON lines when the stream is not a TTY, with the data in metadata', async () => {
    const line = JSON.parse(await logged({ format: 'auto', isTty: false }));
    expect(line).toMatchObject({
      level: 'info',
      message: 'artifact pushed',
      source: 'app',
      version: '1.0.1',
    });
    expect(line.timestamp).toEqual(expect.any(String));
  });

  it('writes readable lines on a TTY and leaves out empty fields', async () => {
    const text = await logged({ format: 'auto', isTty: true });
    expect(text).toContain('artifact pushed source=app version=1.0.1');
    expect(text).not.toContain('undefined');
  });

  it('starts every readable line with its time (issue 9)', async () => {
    const before = Date.now();
    const text = await logged({ format: 'text', isTty: false });
    const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d) info artifact pushed /.exec(text);
    expect(match, text).not.toBeNull();
    const at = Date.parse(match?.[1] ?? '');
    expect(at).toBeGreaterThanOrEqual(before - 1);
    expect(at).toBeLessThanOrEqual(Date.now());
  });

  it('honours an explicit json format on a TTY', async () => {
    expect(JSON.parse(await logged({ format: 'json', isTty: true })).message).toBe('artifact pushed');
  });
});
