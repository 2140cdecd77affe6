import { createRequire } from 'node:module';
import type Winston from 'winston';

/**
 * winston (with logform and its transports, about 40 modules) is loaded by the first `createLogger`, not by
 * importing this port: `--help`, `status` and the other socket commands never log (issue #10, start-up).
 */
const loadWinston = (): typeof Winston => createRequire(import.meta.url)('winston') as typeof Winston;

export type LogFormat = 'auto' | 'json' | 'text';
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export type LogMeta = Record<string, unknown>;

/**
 * The logger port: fixed message text, data in metadata (DEVELOPERS.md, practice 5). winston is behind it
 * (`createLogger`); tests pass `createSilentLogger()` or their own.
 */
export interface Logger {
  /** The threshold; a reload (SIGHUP) changes it at once. */
  level: string;
  error(message: string, meta?: LogMeta): void;
  warn(message: string, meta?: LogMeta): void;
  info(message: string, meta?: LogMeta): void;
  debug(message: string, meta?: LogMeta): void;
  log(level: LogLevel, message: string, meta?: LogMeta): void;
  /** Ends the logger and resolves once what it buffered is written (at most about a second). */
  flush(): Promise<void>;
}

const FLUSH_LIMIT_MS = 1000;

const adapt = (logger: Winston.Logger): Logger => {
  const write = (level: LogLevel, message: string, meta: LogMeta | undefined): void => {
    if (meta === undefined) logger.log(level, message);
    else logger.log(level, message, meta);
  };
  return {
    get level() {
      return logger.level;
    },
    set level(value: string) {
      logger.level = value;
    },
    error: (message, meta) => write('error', message, meta),
    warn: (message, meta) => write('warn', message, meta),
    info: (message, meta) => write('info', message, meta),
    debug: (message, meta) => write('debug', message, meta),
    log: (level, message, meta) => write(level, message, meta),
    flush: () =>
      new Promise((resolve) => {
        logger.on('finish', () => resolve());
        logger.end();
        // The process is about to exit: a stream that never finishes must not hold it up.
        setTimeout(resolve, FLUSH_LIMIT_MS).unref();
      }),
  };
};

export interface LoggerOptions {
  level: LogLevel;
  format: LogFormat;
  /** Whether the stream is a TTY; decides the `auto` format. */
  isTty: boolean;
  stream?: NodeJS.WritableStream;
}

/**
 * JSON lines when not on a TTY (or with `json`), readable lines on a TTY. Messages are fixed text; data goes in
 * metadata (DEVELOPERS.md, practice 5). Logs go to stderr so stdout stays for command output.
 */
export const createLogger = (options: LoggerOptions): Logger => {
  const winston = loadWinston();
  const json = options.format === 'json' || (options.format === 'auto' && !options.isTty);
  const format = json
    ? winston.format.combine(
        winston.format.timestamp(),
        winston.format.errors({ stack: false }),
        winston.format.json(),
      )
    : winston.format.combine(
        // Local time to the millisecond with its offset: a person reads it, and it orders lines across processes.
        winston.format.timestamp({ format: localTimestamp }),
        winston.format.errors({ stack: false }),
        // Colours only on a terminal: escape codes in a file or journald are noise.
        ...(options.isTty ? [winston.format.colorize({ all: false })] : []),
        winston.format.printf((info) => {
          const { level, message, timestamp, ...meta } = info;
          const rest = Object.entries(meta)
            .filter(([, value]) => value !== undefined)
            .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
            .join(' ');
          return `${String(timestamp)} ${level} ${String(message)}${rest ? ` ${rest}` : ''}`;
        }),
      );
  return adapt(
    winston.createLogger({
      level: options.level,
      format,
      transports: [new winston.transports.Stream({ stream: options.stream ?? process.stderr })],
    }),
  );
};

const pad = (value: number, width = 2): string => String(value).padStart(width, '0');

/** `2026-12-04T18:40:01.123+01:00`: ISO 8601 in the machine's time zone. */
const localTimestamp = (): string => {
  const now = new Date();
  const offset = -now.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const zone = `${sign}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}T${pad(now.getHours())}:${pad(now.getMinutes())}:${pad(now.getSeconds())}.${pad(now.getMilliseconds(), 3)}${zone}`;
};

/** A logger that drops everything; for tests and library callers that do not care. No winston behind it. */
export const createSilentLogger = (): Logger => {
  let level = 'info';
  const drop = (): void => undefined;
  return {
    get level() {
      return level;
    },
    set level(value: string) {
      level = value;
    },
    error: drop,
    warn: drop,
    info: drop,
    debug: drop,
    log: drop,
    flush: () => Promise.resolve(),
  };
};
