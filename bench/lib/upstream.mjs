// The upstream every server-side contender talks to: the Workers AI emulator from
// copilotedge/testing (in-process, through its `fetchImpl`), or the tiny stand-in while the
// emulator is not built.
import { loadOurs } from './ours.mjs'
import { createTinyUpstream, TOKEN } from './tiny-upstream.mjs'

/**
 * @returns {Promise<{ kind: string, fetch: typeof fetch, baseURL: string, accountId: string,
 *   apiKey: string, firstToken: string, emulator?: unknown }>}
 */
export async function createUpstream({ tokens, tokenDelayMs = 0, tiny = false }) {
  const testing = tiny ? null : await loadOurs('testing')
  const create = testing?.module?.createWorkersAIEmulator
  if (typeof create === 'function') {
    const emulator = create({ tokens, tokenDelayMs })
    return {
      kind: 'emulator',
      fetch: emulator.fetchImpl,
      baseURL: emulator.baseURL,
      accountId: emulator.accountId,
      apiKey: emulator.apiToken,
      firstToken: 'tok0',
      emulator,
    }
  }
  return {
    kind: 'tiny',
    ...createTinyUpstream({ tokens }),
    accountId: 'bench-account',
    apiKey: 'bench-key',
    firstToken: TOKEN,
  }
}
