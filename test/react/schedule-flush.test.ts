import { describe, expect, it, vi } from 'vitest'
import { FlushScheduler, type FlushTimers } from '../../src/react/schedule-flush'

/** Timers the test fires by hand: animation frames (unless `frames` is false) and timeouts. */
function manualTimers({ frames = true } = {}) {
  let next = 0
  const frameCallbacks = new Map<number, () => void>()
  const timeouts = new Map<number, { callback: () => void; ms: number }>()
  const timers: FlushTimers = {
    requestAnimationFrame: frames
      ? (callback) => {
          frameCallbacks.set(++next, callback)
          return next
        }
      : undefined,
    cancelAnimationFrame: (handle: never) => {
      frameCallbacks.delete(handle)
    },
    setTimeout: (callback, ms) => {
      timeouts.set(++next, { callback, ms })
      return next
    },
    clearTimeout: (handle: never) => {
      timeouts.delete(handle)
    },
  }
  return {
    scheduler: new FlushScheduler(() => timers),
    frameCallbacks,
    timeouts,
    /** Runs the callbacks of one animation frame. */
    frame() {
      const due = [...frameCallbacks.values()]
      frameCallbacks.clear()
      for (const callback of due) callback()
    },
    /** Runs every pending timeout of `ms`. */
    elapse(ms: number) {
      for (const [handle, timeout] of [...timeouts]) {
        if (timeout.ms !== ms) continue
        timeouts.delete(handle)
        timeout.callback()
      }
    },
  }
}

describe('FlushScheduler', () => {
  it('asks for one animation frame for every flush waiting on it, and runs them all in it', () => {
    const { scheduler, frameCallbacks, frame } = manualTimers()
    const ran: string[] = []
    for (const name of ['a', 'b', 'c']) scheduler.schedule(() => ran.push(name), undefined)
    expect(frameCallbacks.size).toBe(1)
    frame()
    expect(ran).toEqual(['a', 'b', 'c'])
  })

  it('asks for a new frame for flushes scheduled after the last one ran', () => {
    const { scheduler, frameCallbacks, frame } = manualTimers()
    const ran: string[] = []
    scheduler.schedule(() => ran.push('first'), undefined)
    frame()
    scheduler.schedule(() => ran.push('second'), undefined)
    expect(frameCallbacks.size).toBe(1)
    frame()
    expect(ran).toEqual(['first', 'second'])
  })

  it('runs the flushes of one bufferMs on one timeout, apart from the other bufferMs', () => {
    const { scheduler, timeouts, elapse } = manualTimers()
    const ran: string[] = []
    scheduler.schedule(() => ran.push('a100'), 100)
    scheduler.schedule(() => ran.push('b100'), 100)
    scheduler.schedule(() => ran.push('c50'), 50)
    expect([...timeouts.values()].map((t) => t.ms).sort()).toEqual([100, 50])
    elapse(50)
    expect(ran).toEqual(['c50'])
    elapse(100)
    expect(ran).toEqual(['c50', 'a100', 'b100'])
  })

  it('falls back to one 16 ms timeout where requestAnimationFrame is missing', () => {
    const { scheduler, timeouts, elapse } = manualTimers({ frames: false })
    const ran: string[] = []
    scheduler.schedule(() => ran.push('a'), undefined)
    scheduler.schedule(() => ran.push('b'), undefined)
    expect([...timeouts.values()].map((t) => t.ms)).toEqual([16])
    elapse(16)
    expect(ran).toEqual(['a', 'b'])
  })

  it('skips a cancelled flush, and cancels the frame when no flush is left waiting', () => {
    const { scheduler, frameCallbacks, frame } = manualTimers()
    const ran: string[] = []
    const cancelA = scheduler.schedule(() => ran.push('a'), undefined)
    const cancelB = scheduler.schedule(() => ran.push('b'), undefined)
    cancelA()
    expect(frameCallbacks.size).toBe(1)
    frame()
    expect(ran).toEqual(['b'])

    const cancelC = scheduler.schedule(() => ran.push('c'), undefined)
    cancelC()
    expect(frameCallbacks.size).toBe(0)
    cancelB() // already ran: nothing to undo
    cancelC() // twice: still nothing
    scheduler.schedule(() => ran.push('d'), undefined)
    expect(frameCallbacks.size).toBe(1)
    frame()
    expect(ran).toEqual(['b', 'd'])
  })

  it('runs the other flushes of a tick when one throws, and reports the error', () => {
    const reportError = vi.fn()
    vi.stubGlobal('reportError', reportError)
    try {
      const { scheduler, frame } = manualTimers()
      const ran: string[] = []
      const failure = new Error('listener failed')
      scheduler.schedule(() => ran.push('a'), undefined)
      scheduler.schedule(() => {
        throw failure
      }, undefined)
      scheduler.schedule(() => ran.push('c'), undefined)
      frame()
      expect(ran).toEqual(['a', 'c'])
      expect(reportError).toHaveBeenCalledWith(failure)
    } finally {
      vi.unstubAllGlobals()
    }
  })
})
