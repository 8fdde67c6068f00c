// The upstream every in-process contender talks to: the Workers AI emulator from
// copilotedge/testing, through its in-process `fetchImpl` (first token at once, then as fast as
// the reader pulls).
import { loadOurs } from './ours.mjs'

/**
 * @returns {Promise<{ kind: string, fetch: typeof fetch, baseURL: string, accountId: string,
 *   apiKey: string, firstToken: string, emulator: unknown }>}
 */
export async function createUpstream({ tokens, tokenDelayMs = 0 }) {
  const testing = await loadOurs('testing')
  const create = testing.module?.createWorkersAIEmulator
  if (typeof create !== 'function') {
    throw new Error(testing.missing ?? 'createWorkersAIEmulator is not exported')
  }
  const emulator = create({ tokens, tokenDelayMs })
  return {
    kind: 'emulator',
    fetch: emulator.fetchImpl,
    baseURL: emulator.baseURL,
    accountId: emulator.accountId,
    apiKey: emulator.apiToken,
    firstToken: 'tok0', // the emulator's tokens are `tok0 `, `tok1 `, …
    emulator,
  }
}
