// Child processes of the bench (registry, clusters, daemons), so that an interrupted bench stops them too.
const children = new Map();

/**
 * Remembers `child` until it exits. `graceMs`: how long it may take to stop after SIGTERM before it gets SIGKILL
 * (the real cluster's child stops four processes of its own, one after the other).
 */
export const track = (child, { graceMs = 5000 } = {}) => {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  children.set(child, { exited, graceMs });
  void exited.then(() => children.delete(child));
  return child;
};

/**
 * SIGTERM to every child still running (they are ours: started by this process, by pid), SIGKILL after its grace
 * time; resolves once all have exited, so that their files can be removed.
 */
export const killChildren = async () => {
  const running = [...children].filter(([child]) => child.exitCode === null && child.signalCode === null);
  await Promise.allSettled(
    running.map(async ([child, { exited, graceMs }]) => {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    }),
  );
};
