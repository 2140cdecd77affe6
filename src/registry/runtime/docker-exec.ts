import type Dockerode from 'dockerode';
import type { Clock } from '../../clock.js';

/**
 * Docker multiplexes stdout and stderr of a container without a TTY into frames: an 8-byte header (stream type,
 * 3 zero bytes, big-endian length) and the payload. Returns the payloads in order, as text.
 */
export const demuxDockerOutput = (buffer: Buffer): string => {
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const type = buffer[offset];
    if (type !== 0 && type !== 1 && type !== 2) return buffer.toString('utf8'); // not multiplexed after all
    const size = buffer.readUInt32BE(offset + 4);
    parts.push(buffer.subarray(offset + 8, offset + 8 + size));
    offset += 8 + size;
  }
  return Buffer.concat(parts).toString('utf8');
};

const collect = (stream: NodeJS.ReadableStream): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('close', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });

/** Runs `cmd` in a running container and returns its output and exit code (Docker reports it after the stream ends). */
export const execInContainer = async (
  container: Dockerode.Container,
  cmd: string[],
  clock: Clock,
): Promise<{ exitCode: number | null; output: string }> => {
  const exec = await container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const output = demuxDockerOutput(await collect(stream));
  for (let attempt = 0; attempt < 50; attempt++) {
    const state = await exec.inspect();
    if (!state.Running) return { exitCode: state.ExitCode, output };
    await clock.sleep(100);
  }
  return { exitCode: null, output };
};

/** The last lines of a container's log, for error messages when it exits. */
export const containerLogTail = async (container: Dockerode.Container, lines = 10): Promise<string> => {
  try {
    const logs = await container.logs({ stdout: true, stderr: true, tail: lines, follow: false });
    return demuxDockerOutput(logs).trim();
  } catch {
    return '';
  }
};
