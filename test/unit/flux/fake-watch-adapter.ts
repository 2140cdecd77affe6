import { KsailError } from '../../../src/errors.js';
import type { KubeAdapter, WatchHandlers } from '../../../src/flux/kube-adapter.js';
import type { KubeObject } from '../../../src/flux/kube-object.js';

/** An adapter for one object whose watch and reads the test drives. */
export const createFakeWatchAdapter = (initial?: KubeObject) => {
  let current = initial;
  const watchers = new Set<WatchHandlers>();
  const calls = { get: 0, watch: 0 };
  let failingWatches = 0;
  let failingGets = 0;
  const adapter: Pick<KubeAdapter, 'get' | 'watch'> = {
    get: () => {
      calls.get += 1;
      if (failingGets > 0) {
        failingGets -= 1;
        return Promise.reject(new KsailError('cluster-unreachable', 'get refused'));
      }
      return Promise.resolve(current);
    },
    watch: (_kind, _namespace, _name, handlers) => {
      calls.watch += 1;
      if (failingWatches > 0) {
        failingWatches -= 1;
        return Promise.reject(new KsailError('cluster-unreachable', 'watch refused'));
      }
      watchers.add(handlers);
      return Promise.resolve({ stop: () => watchers.delete(handlers) });
    },
  };
  return {
    adapter,
    calls,
    watcherCount: () => watchers.size,
    /** The object changes and every open watch sees it. */
    update: (object: KubeObject) => {
      current = object;
      for (const watcher of watchers) watcher.onObject(object, false);
    },
    /** The object changes while no watch reports it (a missed event). */
    updateQuietly: (object: KubeObject) => {
      current = object;
    },
    closeWatches: (error?: unknown) => {
      for (const watcher of [...watchers]) {
        watchers.delete(watcher);
        watcher.onClose(error);
      }
    },
    failNextWatches: (count: number) => {
      failingWatches = count;
    },
    failNextGets: (count: number) => {
      failingGets = count;
    },
  };
};
