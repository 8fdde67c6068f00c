import { describe, expect, it } from 'vitest'
import { normalizeUsage } from '../../../../src/server/providers/wire/wire-values'

describe('normalizeUsage', () => {
  it('keeps prompt_tokens_details.cached_tokens, the prefix-cache hits Workers AI and OpenAI report', () => {
    expect(
      normalizeUsage({
        prompt_tokens: 6377,
        completion_tokens: 349,
        total_tokens: 6726,
        prompt_tokens_details: { cached_tokens: 2861, audio_tokens: 0 },
        neurons: 12,
      }),
    ).toEqual({
      prompt_tokens: 6377,
      completion_tokens: 349,
      total_tokens: 6726,
      prompt_tokens_details: { cached_tokens: 2861 },
    })
  })

  it('reads Responses-shaped usage (input_tokens_details) the same way', () => {
    expect(
      normalizeUsage({
        input_tokens: 10,
        output_tokens: 2,
        input_tokens_details: { cached_tokens: 8 },
      }),
    ).toEqual({
      prompt_tokens: 10,
      completion_tokens: 2,
      total_tokens: 12,
      prompt_tokens_details: { cached_tokens: 8 },
    })
  })

  it('keeps a reported 0, leaves out what was not reported, and never reports more than the prompt', () => {
    const base = { prompt_tokens: 100, completion_tokens: 10, total_tokens: 110 }
    expect(normalizeUsage({ ...base, prompt_tokens_details: { cached_tokens: 0 } })).toEqual({
      ...base,
      prompt_tokens_details: { cached_tokens: 0 },
    })
    expect(normalizeUsage({ ...base, prompt_tokens_details: {} })).toEqual(base)
    expect(normalizeUsage({ ...base, prompt_tokens_details: { cached_tokens: -1 } })).toEqual(base)
    expect(normalizeUsage({ ...base, prompt_tokens_details: { cached_tokens: 150 } })).toEqual({
      ...base,
      prompt_tokens_details: { cached_tokens: 100 },
    })
  })
})
