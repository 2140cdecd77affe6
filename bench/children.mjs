// Child processes of the bench (registry, fake cluster, daemons), so that an interrupted bench stops them too.
const children = new Map();

/** Remembers `child` until it exits. */
export const track = (child) => {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  children.set(child, exited);
  void exited.then(() => children.delete(child));
  return child;
};

/**
 * SIGTERM to every child still running (they are ours: started by this process, by pid), SIGKILL after 5 s;
 * resolves once all have exited, so that their files can be removed.
 */
export const killChildren = async () => {
  const running = [...children].filter(([child]) => child.exitCode === null && child.signalCode === null);
  for (const [child] of running) child.kill('SIGTERM');
  const timer = setTimeout(() => running.forEach(([child]) => child.kill('SIGKILL')), 5000);
  await Promise.allSettled(running.map(([, exited]) => exited));
  clearTimeout(timer);
};
