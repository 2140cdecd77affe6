/** Display helpers: short digests, times a person reads, durations. */

export const shortDigest = (digest: string | undefined): string =>
  digest ? digest.replace(/^sha256:/, '').slice(0, 12) : '–';

/** `1.0.2@sha256:abcd…` → `1.0.2@abcdef123456`. */
export const shortRevision = (revision: string | undefined): string => {
  if (!revision) return '–';
  const [tag, digest] = revision.split('@');
  return digest ? `${tag}@${shortDigest(digest)}` : revision;
};

export const clockTime = (iso: string | undefined): string => {
  if (!iso) return '–';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleTimeString([], { hour12: false });
};

export const dateTime = (iso: string | undefined): string => {
  if (!iso) return '–';
  const date = new Date(iso);
  return Number.isNaN(date.getTime())
    ? iso
    : `${date.toLocaleDateString()} ${date.toLocaleTimeString([], { hour12: false })}`;
};

export const duration = (ms: number | undefined): string => {
  if (ms === undefined) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} m ${Math.round((ms % 60_000) / 1000)} s`;
};
