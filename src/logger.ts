import winston from 'winston';

export type Logger = winston.Logger;
export type LogFormat = 'auto' | 'json' | 'text';
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

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
  const json = options.format === 'json' || (options.format === 'auto' && !options.isTty);
  const format = json
    ? winston.format.combine(
        winston.format.timestamp(),
        winston.format.errors({ stack: false }),
        winston.format.json(),
      )
    : winston.format.combine(
        winston.format.errors({ stack: false }),
        winston.format.colorize({ all: false }),
        winston.format.printf((info) => {
          const { level, message, timestamp: _t, ...meta } = info;
          const rest = Object.entries(meta)
            .filter(([, value]) => value !== undefined)
            .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
            .join(' ');
          return `${level} ${String(message)}${rest ? ` ${rest}` : ''}`;
        }),
      );
  return winston.createLogger({
    level: options.level,
    format,
    transports: [new winston.transports.Stream({ stream: options.stream ?? process.stderr })],
  });
};

/** A logger that drops everything; for tests and library callers that do not care. */
export const createSilentLogger = (): Logger =>
  winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });
