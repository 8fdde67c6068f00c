import { describe, expect, it } from 'vitest'
import { createStoreCircuit } from '../../../src/server/stores/store-circuit'
import { withFallback } from '../../../src/server/stores/with-fallback'

class MapStore {
  readonly map = new Map<string, string>()
  failing = false
  get(key: string): string | undefined {
    if (this.failing) throw new Error('down')
    return this.map.get(key)
  }
  set(key: string, value: string): void {
    if (this.failing) throw new Error('down')
    this.map.set(key, value)
  }
}

describe('withFallback', () => {
  it('wraps methods a class keeps on its prototype, and sends them to local state on failure', async () => {
    const shared = new MapStore()
    const local = new MapStore()
    const store = withFallback(
      shared,
      local,
      createStoreCircuit({ name: 'Map store', logger: { warn: () => {} } }),
    )
    await store.set('a', 'shared')
    expect(shared.map.get('a')).toBe('shared')
    shared.failing = true
    await store.set('b', 'local')
    expect(local.map.get('b')).toBe('local')
    expect(await store.get('b')).toBe('local')
    expect(await store.get('a')).toBeUndefined()
  })
})
