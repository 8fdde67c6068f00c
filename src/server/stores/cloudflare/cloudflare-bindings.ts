// Structural types of the Cloudflare bindings the stores use, so this package needs neither
// `@cloudflare/workers-types` nor any Workers-only import: `env.CACHE`, `caches.default` and
// `env.COPILOT_COORDINATOR` as typed by workers-types are assignable to them.

/** A Workers KV namespace binding (`[[kv_namespaces]]`): the calls the KV cache store makes. */
export interface KVNamespaceLike {
  getWithMetadata(
    key: string,
    type: 'text',
  ): Promise<{ value: string | null; metadata: unknown | null }>
  put(
    key: string,
    value: string,
    options?: { expirationTtl?: number; metadata?: unknown },
  ): Promise<void>
  delete(key: string): Promise<void>
  list(options?: {
    prefix?: string | null
    cursor?: string | null
    limit?: number
  }): Promise<{ keys: Array<{ name: string }>; list_complete: boolean; cursor?: string }>
}

/** A Cache API cache (`caches.default`, or `await caches.open(name)`). */
export interface CacheLike {
  match(request: string): Promise<Response | undefined>
  put(request: string, response: Response): Promise<void>
  delete(request: string): Promise<boolean>
}

/** A Durable Object id (opaque here). */
export interface DurableObjectIdLike {
  toString(): string
}

/** A stub of one Durable Object: the coordinator is spoken to over `fetch`. */
export interface DurableObjectStubLike {
  fetch(input: string, init?: RequestInit): Promise<Response>
}

/** A Durable Object namespace binding (`[[durable_objects.bindings]]`). */
export interface DurableObjectNamespaceLike {
  idFromName(name: string): DurableObjectIdLike
  get(id: DurableObjectIdLike): DurableObjectStubLike
}

/** The storage of one Durable Object (`state.storage`): the calls the coordinator makes. */
export interface DurableObjectStorageLike {
  get<T = unknown>(key: string): Promise<T | undefined>
  put<T>(key: string, value: T): Promise<void>
  delete(key: string | string[]): Promise<boolean | number>
  list<T = unknown>(options?: { prefix?: string }): Promise<Map<string, T>>
  getAlarm(): Promise<number | null>
  setAlarm(scheduledTime: number | Date): Promise<void>
}

/** What a Durable Object's constructor receives first (`DurableObjectState`). */
export interface DurableObjectStateLike {
  readonly storage: DurableObjectStorageLike
}
