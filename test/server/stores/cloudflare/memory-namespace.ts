import { CopilotEdgeCoordinator, type DurableObjectNamespaceLike } from '../../../../src/server'

/** Durable Object storage in memory, with the calls the coordinator makes (keys listed in order). */
export function memoryStorage() {
  const data = new Map<string, unknown>()
  let alarm: number | null = null
  return {
    data,
    get alarm() {
      return alarm
    },
    get: async <T>(key: string) => structuredClone(data.get(key)) as T | undefined,
    put: async <T>(key: string, value: T) => void data.set(key, structuredClone(value)),
    delete: async (keys: string | string[]) => {
      let deleted = 0
      for (const key of Array.isArray(keys) ? keys : [keys]) if (data.delete(key)) deleted++
      return deleted
    },
    list: async <T>(options: { prefix?: string } = {}) =>
      new Map(
        [...data.keys()]
          .filter((key) => key.startsWith(options.prefix ?? ''))
          .sort()
          .map((key) => [key, structuredClone(data.get(key)) as T]),
      ),
    getAlarm: async () => alarm,
    setAlarm: async (time: number | Date) => {
      alarm = Number(time)
    },
  }
}

export type MemoryStorage = ReturnType<typeof memoryStorage>

/**
 * A Durable Object namespace in this process: one `CopilotEdgeCoordinator` per name, reached over
 * `fetch` as a Worker reaches a stub. `calls` records each call's object and path; `down` makes
 * every call fail (a binding that errors), as a Worker sees an object it cannot reach.
 */
export function memoryNamespace() {
  const objects = new Map<string, { coordinator: CopilotEdgeCoordinator; storage: MemoryStorage }>()
  const calls: Array<{ object: string; path: string }> = []
  const state = { down: false }
  const object = (name: string) => {
    let found = objects.get(name)
    if (!found) {
      const storage = memoryStorage()
      found = { coordinator: new CopilotEdgeCoordinator({ storage }), storage }
      objects.set(name, found)
    }
    return found
  }
  const namespace: DurableObjectNamespaceLike = {
    idFromName: (name) => ({ toString: () => name }),
    get: (id) => ({
      fetch: async (input, init) => {
        if (state.down) throw new Error('Durable Object reset')
        calls.push({ object: id.toString(), path: new URL(input).pathname })
        return object(id.toString()).coordinator.fetch(new Request(input, init))
      },
    }),
  }
  return { namespace, objects, object, calls, state }
}
