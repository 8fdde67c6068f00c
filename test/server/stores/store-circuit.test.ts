import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createStoreCircuit } from '../../../src/server/stores/store-circuit'
import { StoreTimeoutError } from '../../../src/server/stores/store-errors'
import { fakeClock } from '../helpers/fake-clock'

function setup(options: { timeoutMs?: number; retryMs?: number } = {}) {
  const warn = vi.fn()
  const circuit = createStoreCircuit({
    name: 'Test store',
    timeoutMs: options.timeoutMs ?? 100,
    retryMs: options.retryMs ?? 1000,
    logger: { warn },
    clock: fakeClock(),
  })
  let healthy = true
  let sharedCalls = 0
  const shared = () => {
    sharedCalls++
    if (!healthy) return Promise.reject(new Error('ECONNREFUSED'))
    return Promise.resolve('shared')
  }
  const local = () => 'local'
  return {
    circuit,
    warn,
    run: () => circuit.run(shared, local),
    setHealthy: (value: boolean) => {
      healthy = value
    },
    sharedCalls: () => sharedCalls,
  }
}

describe('the store circuit', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('answers from the shared store while it works, logging nothing', async () => {
    const s = setup()
    expect(await s.run()).toBe('shared')
    expect(await s.run()).toBe('shared')
    expect(s.warn).not.toHaveBeenCalled()
  })

  it('answers every call of an outage from local state and logs once for the whole outage', async () => {
    const s = setup()
    s.setHealthy(false)
    const answers = await Promise.all(Array.from({ length: 100 }, () => s.run()))
    expect(answers.every((a) => a === 'local')).toBe(true)
    for (let i = 0; i < 5; i++) {
      await vi.advanceTimersByTimeAsync(1000)
      for (let j = 0; j < 20; j++) expect(await s.run()).toBe('local')
    }
    expect(s.warn).toHaveBeenCalledTimes(1)
    expect(s.warn.mock.calls[0]?.[0]).toContain('Test store failed (Error: ECONNREFUSED)')
  })

  it('skips the shared store while open, then lets exactly one call probe it after retryMs', async () => {
    const s = setup({ retryMs: 1000 })
    s.setHealthy(false)
    // All 10 calls started while closed, so all 10 reach the failing store once.
    await Promise.all(Array.from({ length: 10 }, () => s.run()))
    const afterOutage = s.sharedCalls()
    await vi.advanceTimersByTimeAsync(999)
    for (let i = 0; i < 50; i++) await s.run()
    expect(s.sharedCalls()).toBe(afterOutage)
    await vi.advanceTimersByTimeAsync(1)
    await Promise.all(Array.from({ length: 50 }, () => s.run()))
    expect(s.sharedCalls()).toBe(afterOutage + 1)
    expect(s.circuit.state).toBe('open')
  })

  it('recovers by itself when the store answers again, logging the recovery once', async () => {
    const s = setup({ retryMs: 1000 })
    s.setHealthy(false)
    expect(await s.run()).toBe('local')
    s.setHealthy(true)
    expect(await s.run()).toBe('local')
    await vi.advanceTimersByTimeAsync(1000)
    expect(await s.run()).toBe('shared')
    expect(s.circuit.state).toBe('closed')
    expect(await s.run()).toBe('shared')
    expect(s.warn).toHaveBeenCalledTimes(2)
    expect(s.warn.mock.calls[1]?.[0]).toContain('Test store answers again')
  })

  it('logs again for a second, separate outage', async () => {
    const s = setup({ retryMs: 1000 })
    s.setHealthy(false)
    await s.run()
    s.setHealthy(true)
    await vi.advanceTimersByTimeAsync(1000)
    await s.run()
    s.setHealthy(false)
    await s.run()
    expect(s.warn).toHaveBeenCalledTimes(3)
  })

  it('never holds a call on a hung store past timeoutMs: it answers from local state then', async () => {
    const warn = vi.fn()
    const circuit = createStoreCircuit({
      name: 'Hung store',
      timeoutMs: 250,
      logger: { warn },
      clock: fakeClock(),
    })
    let settled: string | undefined
    const answer = circuit.run(
      () => new Promise<string>(() => {}),
      () => 'local',
    )
    answer.then((value) => {
      settled = value
    })
    await vi.advanceTimersByTimeAsync(249)
    expect(settled).toBeUndefined()
    // At the bound plus one loop turn (a 0 ms timer, 1 ms in Node): a reply read meanwhile wins.
    await vi.advanceTimersByTimeAsync(1)
    expect(settled).toBeUndefined()
    await vi.advanceTimersByTimeAsync(1)
    expect(settled).toBe('local')
    expect(warn.mock.calls[0]?.[0]).toContain(new StoreTimeoutError('Hung store', 250).message)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('lets a reply that arrives in the same turn as the timeout win over it', async () => {
    const circuit = createStoreCircuit({
      name: 'Slow store',
      timeoutMs: 100,
      logger: { warn: () => {} },
      clock: fakeClock(),
    })
    // The reply is scheduled for the very moment the bound expires (a stalled loop sees both due).
    const answer = circuit.run(
      () => new Promise<string>((resolve) => setTimeout(() => resolve('shared'), 100)),
      () => 'local',
    )
    await vi.advanceTimersByTimeAsync(100)
    expect(await answer).toBe('shared')
    expect(circuit.state).toBe('closed')
  })

  it('treats a synchronous throw like any other failure', async () => {
    const circuit = createStoreCircuit({
      name: 'S',
      logger: { warn: () => {} },
      clock: fakeClock(),
    })
    const value = await circuit.run(
      () => {
        throw new Error('boom')
      },
      () => 'local',
    )
    expect(value).toBe('local')
  })
})
