import type { StoreCircuit } from './store-circuit'

/** `T`'s methods, each answering a promise (the shared store may be remote). */
export type Fallible<T> = {
  [K in keyof T]: T[K] extends ((...args: infer A) => infer R) | undefined
    ? (...args: A) => Promise<Awaited<R>>
    : T[K]
}

/**
 * A store that calls `shared` through `circuit` and `local` whenever the shared one fails, hangs
 * or is skipped after an outage. Every method of `local` is wrapped; `shared` must have the same
 * ones. Writes made during an outage stay local (they are not replayed into the shared store).
 */
export function withFallback<T extends object>(
  shared: T,
  local: T,
  circuit: StoreCircuit,
): Fallible<T> {
  const wrapped: Record<string, unknown> = {}
  for (const name of methodNames(local) as Array<keyof T & string>) {
    const localMethod = local[name]
    const sharedMethod = shared[name]
    if (typeof localMethod !== 'function' || typeof sharedMethod !== 'function') continue
    wrapped[name] = (...args: unknown[]) =>
      circuit.run(
        () => sharedMethod.apply(shared, args),
        () => localMethod.apply(local, args),
      )
  }
  return wrapped as Fallible<T>
}

/** Own and inherited method names (a class-based store keeps its methods on the prototype). */
function methodNames(object: object): string[] {
  const names = new Set<string>()
  for (let o: object | null = object; o && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const name of Object.getOwnPropertyNames(o)) if (name !== 'constructor') names.add(name)
  }
  return [...names]
}
