import { z } from 'zod';

/** What a rollback did; the body of `POST /v1/sources/{name}/rollback` too. */
export const RollbackResult = z.object({
  source: z.string(),
  /** The tag the cluster ran before. */
  from: z.string().optional(),
  to: z.string(),
  /** The newest version in the registry; the daemon moves back to it (and beyond) at the next real save. */
  latest: z.string(),
  outcome: z.enum(['succeeded', 'failed']),
  /** `<tag>@<digest>` that Flux applied. */
  revision: z.string().optional(),
  error: z.string().optional(),
  code: z.string().optional(),
});
export type RollbackResult = z.infer<typeof RollbackResult>;
