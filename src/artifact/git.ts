import { pathToFileURL } from 'node:url';

export interface GitInfo {
  /** HEAD of the work tree the directory is in. */
  commit: string;
  /** `remote.origin.url` without credentials, when set. */
  remote?: string;
}

const COMMIT = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/** The git port: runs `git -C <dir> <args>` and returns its trimmed output, or undefined when git gives none. */
export type GitRunner = (dir: string, args: readonly string[]) => Promise<string | undefined>;

/** The real git, through execa. */
export const execaGit: GitRunner = async (dir, args) => {
  // execa (about 100 modules) loads with the first git call, which only a changed source makes (issue #10).
  const { execa } = await import('execa');
  // reject: false: git missing (ENOENT), "not a git repository" and an unset key all simply mean "no answer".
  const result = await execa('git', ['-C', dir, ...args], { reject: false, timeout: 5_000, stdin: 'ignore' });
  return result.exitCode === 0 && typeof result.stdout === 'string' ? result.stdout.trim() : undefined;
};

/**
 * Drops credentials from a remote URL: the annotation is pushed to a registry and shows up in logs. Over http(s)
 * the user name is often a token too; an ssh user name (`git@`) is not a secret. scp-like remotes have no password.
 */
export const redactRemote = (remote: string): string => {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(remote)) return remote;
  try {
    const url = new URL(remote);
    const http = url.protocol === 'http:' || url.protocol === 'https:';
    if (url.password === '' && (!http || url.username === '')) return remote;
    url.password = '';
    if (http) url.username = '';
    return url.toString();
  } catch {
    return remote;
  }
};

/**
 * The commit (and origin remote) of the git work tree `dir` is in, or undefined when it is in none, has no commits
 * yet, or git is not installed. Two short git processes, run in parallel; nothing is cached.
 */
export const gitInfo = async (dir: string, git: GitRunner = execaGit): Promise<GitInfo | undefined> => {
  const [commit, remote] = await Promise.all([
    git(dir, ['rev-parse', 'HEAD']),
    git(dir, ['config', '--get', 'remote.origin.url']),
  ]);
  if (commit === undefined || !COMMIT.test(commit)) return undefined;
  return remote ? { commit, remote: redactRemote(remote) } : { commit };
};

/** The `org.opencontainers.image.source` value: the git remote when there is one, else a file:// URL. */
export const artifactSource = (sourceDir: string, info: GitInfo | undefined): string =>
  info?.remote ?? pathToFileURL(sourceDir).href;
