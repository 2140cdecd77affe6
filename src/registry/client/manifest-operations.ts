import { sha256Digest } from '../../artifact/digest.js';
import { KsailError, isKsailError } from '../../errors.js';
import type { ManifestResult } from './client.js';
import { matchesDigest } from './digest.js';
import { isDigest, nextLink, validateDigest, validateReference } from './references.js';
import type { RegistryContext } from './registry-context.js';
import { INDEX_MEDIA_TYPES, MANIFEST_ACCEPT, OciManifest, TagList } from './registry-schemas.js';
import type { RegistryResponse } from './transport.js';

export interface ManifestOperations {
  putManifest(
    repository: string,
    reference: string,
    body: Uint8Array,
    mediaType: string,
  ): Promise<{ digest: string }>;
  /** undefined on 404. */
  getManifest(repository: string, reference: string): Promise<ManifestResult | undefined>;
  headManifest(repository: string, reference: string): Promise<{ digest: string; size: number } | undefined>;
  deleteManifest(repository: string, digest: string): Promise<void>;
  /** Follows `Link: <...>; rel="next"`; [] when the repository does not exist (404 NAME_UNKNOWN). */
  listTags(repository: string): Promise<string[]>;
}

const mediaTypeOf = (response: RegistryResponse): string =>
  (response.headers.get('content-type') ?? '').split(';')[0]?.trim() ?? '';

export const createManifestOperations = (
  registry: RegistryContext,
  options: { tagPageSize?: number },
): ManifestOperations => {
  const { transport } = registry;
  const manifestUrl = (repository: string, reference: string): URL =>
    registry.repoUrl(repository, `manifests/${validateReference(reference)}`);

  /** GET and HEAD alike: the same Accept header (so both see the same manifest), and undefined on 404. */
  const readManifest = async (
    method: 'GET' | 'HEAD',
    repository: string,
    reference: string,
  ): Promise<RegistryResponse | undefined> => {
    const url = manifestUrl(repository, reference);
    const response = await registry.run((context) =>
      transport.exchange(context, { method, url, headers: { accept: MANIFEST_ACCEPT } }, [200, 404]),
    );
    return response.status === 404 ? undefined : response;
  };

  const getManifest = async (repository: string, reference: string): Promise<ManifestResult | undefined> => {
    const response = await readManifest('GET', repository, reference);
    if (response === undefined) return undefined;
    const what = `manifest ${repository}:${reference}`;
    const header = registry.digestHeader(response);
    for (const expected of [header, isDigest(reference) ? reference : undefined]) {
      if (expected !== undefined && !matchesDigest(expected, response.body))
        throw registry.invalid(what, `its bytes do not hash to ${expected}`);
    }
    const mediaType = mediaTypeOf(response);
    if (INDEX_MEDIA_TYPES.includes(mediaType)) {
      throw registry.invalid(
        what,
        `it is an image index (${mediaType}), not the single artifact manifest ksail-fluxd pushes`,
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(response.body.toString('utf8'));
    } catch (error) {
      throw registry.invalid(what, 'it is not JSON', error);
    }
    const parsed = OciManifest.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const problem = issue ? `${issue.path.join('.') || 'body'}: ${issue.message}` : 'unexpected shape';
      throw registry.invalid(what, problem, parsed.error);
    }
    return {
      digest: header ?? (isDigest(reference) ? reference : sha256Digest(response.body)),
      mediaType: mediaType || (parsed.data.mediaType ?? ''),
      body: response.body,
      manifest: parsed.data,
    };
  };

  const listTags = async (repository: string): Promise<string[]> => {
    let next: URL | undefined = registry.repoUrl(repository, 'tags/list');
    if (options.tagPageSize !== undefined) next.searchParams.set('n', String(options.tagPageSize));
    const seen = new Set<string>();
    const tags: string[] = [];
    while (next !== undefined) {
      // A registry whose Link points back at a page it already served would otherwise loop forever.
      if (seen.has(next.href))
        throw registry.invalid('tags list', `its Link header points back to ${next.pathname}${next.search}`);
      seen.add(next.href);
      const page: URL = next;
      let response: RegistryResponse;
      try {
        response = await registry.run((context) =>
          transport.exchange(context, { method: 'GET', url: page }, [200]),
        );
      } catch (error) {
        if (isKsailError(error, 'registry-http') && error.details.registryCode === 'NAME_UNKNOWN') return [];
        throw error;
      }
      let parsed: TagList;
      try {
        parsed = TagList.parse(JSON.parse(response.body.toString('utf8')));
      } catch (error) {
        throw registry.invalid(
          `tags list of ${repository}`,
          'expected {"name": string, "tags": string[] | null}',
          error,
        );
      }
      tags.push(...(parsed.tags ?? []));
      const link = nextLink(response.headers.get('link'));
      next = link === undefined ? undefined : new URL(link, page);
    }
    return tags;
  };

  return {
    putManifest: async (repository, reference, body, mediaType) => {
      const target = manifestUrl(repository, reference);
      const digest = sha256Digest(body);
      if (isDigest(reference) && reference !== digest)
        throw new KsailError('internal', `manifest pushed by digest ${reference} hashes to ${digest}`);
      const response = await registry.run((context) =>
        transport.exchange(
          context,
          { method: 'PUT', url: target, headers: { 'content-type': mediaType }, body },
          [201],
        ),
      );
      const stored = registry.digestHeader(response);
      if (stored !== undefined && stored !== digest) {
        throw registry.invalid(
          `response to the manifest push ${repository}:${reference}`,
          `it stored ${stored} for bytes that hash to ${digest}`,
        );
      }
      return { digest };
    },
    getManifest,
    headManifest: async (repository, reference) => {
      const response = await readManifest('HEAD', repository, reference);
      if (response === undefined) return undefined;
      const what = `HEAD response for manifest ${repository}:${reference}`;
      const digest = registry.digestHeader(response) ?? (isDigest(reference) ? reference : undefined);
      if (digest === undefined) throw registry.invalid(what, 'it has no Docker-Content-Digest header');
      const size = Number(response.headers.get('content-length') ?? NaN);
      if (!Number.isInteger(size) || size < 0) throw registry.invalid(what, 'it has no valid Content-Length');
      return { digest, size };
    },
    deleteManifest: async (repository, digest) => {
      const target = registry.repoUrl(repository, `manifests/${validateDigest(digest)}`);
      await registry.run((context) =>
        transport.exchange(context, { method: 'DELETE', url: target }, [200, 202, 204]),
      );
    },
    listTags,
  };
};
