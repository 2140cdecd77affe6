// Start-up benchmark (issue #10): whole CLI processes, timed from spawn to exit, side by side with a bare `node`
// in interleaved rounds, so that the machine's load hits all of them alike. `--version`; `status` against a
// running daemon; `push` of an unchanged 100-file source. BENCH_BASELINE_CLI=<an older build's dist/cli/main.js>
// runs the same commands with it in the same rounds (today's figures next to the new ones). Also prints which npm
// packages each command loads (bench/import-recorder.mjs), the guard that keeps heavy modules off these paths.
import { spawnSync } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MAIN, startDaemon } from './daemon-process.mjs';
import { figure } from './figures.mjs';
import { median, writeSource } from './fixtures.mjs';
import { packagesOf } from './import-recorder.mjs';

const ROUNDS = Number(process.env.BENCH_STARTUP_ROUNDS ?? 15);
const RECORDER = fileURLToPath(new URL('./import-recorder.mjs', import.meta.url));
const TARGETS = { version: 40, status: 80, push: 150 };

const run = (args, { cwd, env }) => {
  const started = performance.now();
  const result = spawnSync(process.execPath, args, { cwd, env, encoding: 'utf8' });
  return { ms: performance.now() - started, ...result };
};

export const benchStartup = async ({ work, port, cluster }) => {
  const dir = join(work, 'startup');
  const sourceDir = join(dir, 'app');
  await writeSource(sourceDir, 100, 200 * 1024, 21);
  const baseline = process.env.BENCH_BASELINE_CLI;
  console.log(
    `\n== start-up (issue #10): whole processes, ${ROUNDS} interleaved rounds, medians; "ksail-fluxd start" running ` +
      `a 100-file source${baseline ? `; baseline ${baseline}` : ''} ==`,
  );
  const daemon = await startDaemon({
    dir: join(dir, 'daemon'),
    port,
    cluster,
    sources: [{ name: 'app', path: sourceDir }],
  });
  try {
    await daemon.settled();
    const options = { cwd: dir, env: { HOME: join(dir, 'daemon'), PATH: process.env.PATH } };
    const commands = {
      version: ['--version'],
      status: ['status', '--config', daemon.configPath],
      push: ['push', '--config', daemon.configPath],
    };
    const clis = { new: MAIN, ...(baseline ? { today: baseline } : {}) };
    const cases = { node: ['-e', ''] };
    for (const [cli, main] of Object.entries(clis)) {
      for (const [name, args] of Object.entries(commands)) cases[`${name} ${cli}`] = [main, ...args];
    }
    if (baseline) {
      // The two builds' layers differ (today's is one gzip stream, the new one gzip members), so on one repository
      // each would push the other's "change" every round. Today's push gets a repository of its own, with no
      // cluster (the daemon owns the OCIRepository), pushed once first so that its timed runs are unchanged.
      const config = JSON.parse(await readFile(daemon.configPath, 'utf8'));
      delete config.cluster;
      config.gitOpsEngine = 'Kubectl';
      config.sources = config.sources.map((source) => ({
        ...source,
        repository: `bench/${source.name}-today`,
      }));
      const todayConfig = join(dir, 'today.yaml');
      await writeFile(todayConfig, `${JSON.stringify(config, null, 2)}\n`);
      cases['push today'] = [baseline, 'push', '--config', todayConfig];
      run(cases['push today'], options);
    }
    // Each case once, checked: an error would time the wrong thing.
    for (const [name, args] of Object.entries(cases)) {
      const result = run(args, options);
      if (result.status !== 0) throw new Error(`${name}: exit ${result.status}: ${result.stderr}`);
      if (name.startsWith('push') && !/unchanged/.test(result.stdout)) {
        throw new Error(`${name}: expected "unchanged", got ${result.stdout}`);
      }
    }
    const times = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, args] of Object.entries(cases)) times[name].push(run(args, options).ms);
    }
    const node = median(times.node);
    figure('startup', 'node -e ""', node, 'ms');
    console.log(`node -e '': median ${node.toFixed(1)} ms`);
    for (const [name, target] of Object.entries(TARGETS)) {
      const parts = Object.keys(clis).map((cli) => {
        const value = median(times[`${name} ${cli}`]);
        const over = value - node;
        const met = over <= target;
        figure('startup', `${name} (${cli})`, value, 'ms', {
          overNode: Number(over.toFixed(1)),
          ...(cli === 'new' ? { target: `<= node + ${target} ms`, met } : {}),
        });
        return `${cli} ${value.toFixed(1)} ms (node + ${over.toFixed(1)})${cli === 'new' ? `, target <= node + ${target} ms: ${met ? 'met' : 'MISSED'}` : ''}`;
      });
      console.log(
        `ksail-fluxd ${commands[name].join(' ').replace(daemon.configPath, 'CONFIG')}: ${parts.join(' | ')}`,
      );
    }
    // The guard: which npm packages each command loads (ES modules by a load hook, CommonJS from the require cache).
    for (const [name, args] of Object.entries(commands)) {
      const log = join(dir, `imports-${name}.txt`);
      await rm(log, { force: true });
      run(['--import', RECORDER, MAIN, ...args], {
        ...options,
        env: { ...options.env, KSAIL_FLUXD_IMPORT_LOG: log },
      });
      const urls = (await readFile(log, 'utf8').catch(() => '')).split('\n').filter(Boolean);
      const packages = [...packagesOf(urls)].sort(([a], [b]) => a.localeCompare(b));
      figure('startup', `modules loaded by ${name}`, urls.length, 'modules', {
        packages: Object.fromEntries(packages),
      });
      console.log(
        `modules loaded by ${name}: ${urls.length}; npm packages: ${packages.map(([pkg, count]) => `${pkg} (${count})`).join(', ') || 'none'}`,
      );
    }
  } finally {
    const result = await daemon.close();
    if (result.code !== 0) console.log(`daemon exited with ${result.code ?? result.signal}`);
  }
};
