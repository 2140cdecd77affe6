/** What `process` offers for signals; injected so tests can send them. */
export interface SignalTarget {
  on(signal: NodeJS.Signals, listener: () => void): unknown;
  off(signal: NodeJS.Signals, listener: () => void): unknown;
}

export interface SignalHandlers {
  /** SIGTERM or SIGINT: shut down gracefully. Called once; a second stop signal calls `force`. */
  stop(signal: NodeJS.Signals): void;
  /** Another stop signal while shutting down (an impatient Ctrl-C). */
  force?(signal: NodeJS.Signals): void;
  /** SIGHUP: reload the config. */
  reload(): void;
}

/** Installs the daemon's signal handlers; returns the function that removes them. */
export const handleSignals = (target: SignalTarget, handlers: SignalHandlers): (() => void) => {
  let stopping = false;
  const onStop = (signal: NodeJS.Signals) => (): void => {
    if (stopping) handlers.force?.(signal);
    else {
      stopping = true;
      handlers.stop(signal);
    }
  };
  const onTerm = onStop('SIGTERM');
  const onInt = onStop('SIGINT');
  const onHup = (): void => handlers.reload();
  target.on('SIGTERM', onTerm);
  target.on('SIGINT', onInt);
  target.on('SIGHUP', onHup);
  return () => {
    target.off('SIGTERM', onTerm);
    target.off('SIGINT', onInt);
    target.off('SIGHUP', onHup);
  };
};
