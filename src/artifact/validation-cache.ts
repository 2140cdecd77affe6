import type { FileProblem, Role } from './manifest-check.js';
import type { ObjectSummary } from './namespace-check.js';

/** What checking one file found, from its content and role alone. */
export interface FileCheck {
  problems: FileProblem[];
  /** The Kubernetes objects in it, for the namespace check (which also depends on context, so runs every time). */
  objects: ObjectSummary[];
}

interface Entry extends FileCheck {
  content: Buffer;
  role: Role;
}

/**
 * Per-file results of the previous validation of one source. Parsing YAML is by far the slowest step of a build,
 * and a save usually changes one file, so unchanged files (same role, byte-equal content) reuse their result.
 * Holds the previous contents (about the size of the source) and forgets files that are gone.
 * Create one per source and pass it to every `buildLayer` of that source. Overlapping builds of one source only
 * lower the hit rate: an entry is used only for byte-equal content, and its result depends on nothing else (what
 * depends on the rest of the source, such as whether Flux applies the file or sets its namespace, is not cached).
 */
export class ValidationCache {
  private previous = new Map<string, Entry>();
  private next = new Map<string, Entry>();

  /** The cached result for this exact content, or undefined. */
  lookup(path: string, role: Role, content: Buffer): FileCheck | undefined {
    const entry = this.previous.get(path);
    if (entry === undefined || entry.role !== role || !entry.content.equals(content)) return undefined;
    this.next.set(path, entry);
    return entry;
  }

  store(path: string, role: Role, content: Buffer, check: FileCheck): void {
    this.next.set(path, { content, role, problems: check.problems, objects: check.objects });
  }

  /** Ends a validation run: only the files seen in it are kept. */
  commit(): void {
    this.previous = this.next;
    this.next = new Map();
  }

  get size(): number {
    return this.previous.size;
  }
}

export const createValidationCache = (): ValidationCache => new ValidationCache();
