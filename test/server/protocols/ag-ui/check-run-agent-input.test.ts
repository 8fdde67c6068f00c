import { omitOptionalNulls } from '@ag-ui/core'
import { RunAgentInputSchema } from '@ag-ui/core/schemas'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { resolveConfig } from '../../../../src/server/config'
import { ValidationError } from '../../../../src/server/errors'
import { checkRunAgentInput } from '../../../../src/server/protocols/ag-ui/check-run-agent-input'
import { decodeRunAgentInput } from '../../../../src/server/protocols/ag-ui/decode-run-agent-input'
import { upgradeLegacyParts } from '../../../../src/server/protocols/ag-ui/upgrade-legacy-parts'

// The server checks RunAgentInput by hand (zod would be most of its bundle). @ag-ui/core's own zod
// schema, a devDependency, is the oracle here: on everything the decoder reads, the two must agree.

const MODEL = '@cf/meta/llama-3.1-8b-instruct'
const settings = resolveConfig({ model: MODEL })

/** What the schema sees: the body as the decoder upgrades it, with optional nulls omitted. */
function schemaParse(body: Record<string, unknown>) {
  return RunAgentInputSchema.safeParse(omitOptionalNulls(upgradeLegacyParts(body), 'RunAgentInput'))
}

/** One schema problem as zod reports it (the fields read here). */
interface Issue {
  path: PropertyKey[]
  message: string
  errors?: Issue[][]
}

/** `['messages', 0, 'role']` → `messages[0].role`. */
function pathText(path: PropertyKey[]): string {
  let text = ''
  for (const key of path) {
    if (typeof key === 'number') text += `[${key}]`
    else text += text === '' ? String(key) : `.${String(key)}`
  }
  return text
}

/** The problem zod means: a failed union says "Invalid input"; its furthest branch says what. */
function deepest(issue: Issue, prefix: PropertyKey[] = []): Issue {
  const path = [...prefix, ...issue.path]
  let best: Issue = { ...issue, path }
  for (const branch of issue.errors ?? []) {
    const first = branch[0]
    if (first === undefined) continue
    const candidate = deepest(first, path)
    if (candidate.path.length > best.path.length || best.message === 'Invalid input')
      best = candidate
  }
  return best
}

type Outcome = { ok: true } | { ok: false; error: ValidationError }

function decode(body: unknown): Outcome {
  try {
    decodeRunAgentInput(body, settings)
    return { ok: true }
  } catch (error) {
    if (error instanceof ValidationError) return { ok: false, error }
    throw error
  }
}

/** A shape error from the check, as opposed to our own rules after it (limits, unsupported parts). */
function isShapeError(outcome: Outcome): boolean {
  return !outcome.ok && outcome.error.message.startsWith('Invalid RunAgentInput: ')
}

// Values: small, and no -0 (JSON cannot carry it, and toEqual tells it from 0).
const str = fc.string({ maxLength: 4 })
const leaf = fc.oneof(str, fc.integer(), fc.boolean(), fc.constant(null))
const json = fc.oneof(
  leaf,
  fc.dictionary(str, leaf, { maxKeys: 2 }),
  fc.array(leaf, { maxLength: 2 }),
)
const junk = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.integer(),
  str,
  fc.constant([]),
  fc.constant({}),
  fc.boolean(),
)

/** Fields the decoder never reads, always valid: they must not change the verdict. */
const unread = fc.record(
  {
    metadata: fc.dictionary(str, json, { maxKeys: 2 }),
    encryptedValue: str,
    subagentRunId: str,
    'x-extension': json,
  },
  { requiredKeys: [] },
)

function withUnread<T extends object>(arb: fc.Arbitrary<T>) {
  return fc.tuple(arb, unread).map(([value, extra]) => ({ ...extra, ...value }))
}

/**
 * RunAgentInput-like bodies where each field the decoder reads is wrong (a bad type, an unknown
 * role, part or source type) with weight `bad` against 300: 0 gives only valid bodies, a small
 * weight mostly bodies with one fault, a large one bodies with many.
 */
function bodies(bad: number): fc.Arbitrary<Record<string, unknown>> {
  const or = <T, U>(valid: fc.Arbitrary<T>, wrong: fc.Arbitrary<U>): fc.Arbitrary<T | U> =>
    bad === 0
      ? valid
      : fc.oneof({ arbitrary: valid, weight: 300 }, { arbitrary: wrong, weight: bad })
  /** A required field: valid, or a wrong type. */
  const maybe = <T>(valid: fc.Arbitrary<T>) => or(valid, junk)
  /** An optional field: valid, null (older producers), absent, or a wrong type. */
  const optional = <T>(valid: fc.Arbitrary<T>) =>
    maybe(
      fc.oneof(
        { arbitrary: valid, weight: 5 },
        { arbitrary: fc.constant(null), weight: 1 },
        { arbitrary: fc.constant(undefined), weight: 2 },
      ),
    )

  const source = or(
    fc.oneof(
      fc.record({ type: fc.constant('data'), value: maybe(str), mimeType: maybe(str) }),
      fc.record(
        { type: fc.constant('url'), value: maybe(str), mimeType: optional(str) },
        { requiredKeys: ['type', 'value'] },
      ),
      fc.record(
        { type: fc.constant('file'), value: maybe(str), provider: str },
        { requiredKeys: ['type', 'value'] },
      ),
    ),
    fc.oneof(junk, fc.record({ type: fc.constant('ftp'), value: str })),
  )
  const part = or(
    fc.oneof(
      { arbitrary: fc.record({ type: fc.constant('text'), text: maybe(str) }), weight: 6 },
      {
        arbitrary: fc.record({
          type: fc.constantFrom('image', 'audio', 'video', 'document'),
          source,
        }),
        weight: 3,
      },
      // Before 1.0: upgraded to a media part by the decoder, and for the schema in this test.
      {
        arbitrary: fc.record({
          type: fc.constant('binary'),
          mimeType: fc.constantFrom('image/png', 'audio/mp3'),
          data: str,
        }),
        weight: 1,
      },
    ),
    fc.oneof(junk, fc.record({ type: fc.constant('sticker') })),
  )
  const content = maybe(fc.oneof(str, fc.array(part, { maxLength: 3 })))
  const toolCall = maybe(
    fc.record({
      id: maybe(str),
      type: or(fc.constant('function'), junk),
      function: maybe(fc.record({ name: maybe(str), arguments: maybe(str) })),
    }),
  )
  const role = or(
    fc.constantFrom('developer', 'system', 'user', 'assistant', 'tool'),
    fc.constantFrom('bot', 'Tool', 7),
  )
  const conversationMessage = withUnread(
    fc.record(
      {
        id: maybe(str),
        role,
        name: optional(str),
        content,
        toolCalls: optional(fc.array(toolCall, { maxLength: 2 })),
        toolCallId: maybe(str),
        error: optional(str),
      },
      { requiredKeys: ['id', 'role', 'content', 'toolCallId'] },
    ),
  ).map((m) => {
    // Only the fields each role's schema has: a system message's `toolCalls` would be unknown.
    const { toolCalls, toolCallId, error, name, ...rest } = m
    if (m.role === 'assistant') return { ...rest, name, toolCalls }
    if (m.role === 'tool') return { ...rest, toolCallId, error }
    return { ...rest, name }
  })
  // Skipped by the decoder, so generated valid: the check does not look inside them.
  const skippedMessage = fc.oneof(
    fc.record({ id: str, role: fc.constant('reasoning'), content: str }),
    fc.record({
      id: str,
      role: fc.constant('activity'),
      activityType: str,
      content: fc.dictionary(str, json, { maxKeys: 2 }),
    }),
  )
  const message = maybe(
    fc.oneof(
      { arbitrary: conversationMessage, weight: 8 },
      { arbitrary: skippedMessage, weight: 1 },
    ),
  )
  const tool = maybe(
    fc.record(
      {
        name: maybe(fc.constantFrom('get_weather', 'search')),
        description: maybe(str),
        parameters: optional(
          fc.constant({ type: 'object', properties: { city: { type: 'string' } } }),
        ),
      },
      { requiredKeys: ['name', 'description'] },
    ),
  )
  const context = maybe(fc.record({ description: maybe(str), value: maybe(str) }))
  return withUnread(
    fc.record(
      {
        threadId: maybe(str),
        runId: maybe(str),
        protocolVersion: optional(fc.constant('1.0')),
        parentRunId: optional(str),
        state: json,
        messages: maybe(fc.array(message, { minLength: 1, maxLength: 4 })),
        tools: optional(fc.array(tool, { maxLength: 2 })),
        context: optional(fc.array(context, { maxLength: 2 })),
        forwardedProps: optional(fc.oneof(json, fc.constant({ model: MODEL }))),
        resume: fc.array(
          fc.record({ interruptId: str, status: fc.constantFrom('resolved', 'cancelled') }),
          { maxLength: 1 },
        ),
      },
      { requiredKeys: ['threadId', 'runId', 'messages'] },
    ),
  )
}

type Path = (string | number)[]

/** Fields the check accepts unread (annotations, agent state, interrupts, opaque props). */
const UNREAD = new Set([
  'metadata',
  'encryptedValue',
  'subagentRunId',
  'x-extension',
  'state',
  'resume',
  'forwardedProps',
  'parameters',
])

/** Every path in the body whose value the check looks at. */
function readPaths(value: unknown, path: Path = []): Path[] {
  const out: Path[] = []
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries())
      out.push([...path, i], ...readPaths(item, [...path, i]))
  } else if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>
    const skipped = record.role === 'activity' || record.role === 'reasoning'
    for (const [key, item] of Object.entries(record)) {
      if (UNREAD.has(key) || (skipped && key !== 'id' && key !== 'role')) continue
      out.push([...path, key], ...readPaths(item, [...path, key]))
    }
  }
  return out
}

function setAt(body: Record<string, unknown>, path: Path, value: unknown): Record<string, unknown> {
  const copy = structuredClone(body)
  let target: Record<string | number, unknown> = copy
  for (const key of path.slice(0, -1)) target = target[key] as Record<string | number, unknown>
  target[path[path.length - 1] as string | number] = value
  return copy
}

/** A valid body with one field the check reads (a value or a whole object) set to junk. */
const oneFault = bodies(0).chain((body) =>
  fc
    .tuple(fc.constantFrom(...readPaths(body)), junk)
    .map(([path, value]) => setAt(body, path, value)),
)

// Valid bodies, bodies with one fault anywhere the check looks, and bodies with a few or many.
const runAgentInput = fc.oneof(bodies(0), oneFault, oneFault, bodies(8), bodies(40))

/** Keys holding undefined dropped, as the JSON a client sends would drop them. */
function asJson(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value))
}

describe('checkRunAgentInput against @ag-ui/core RunAgentInputSchema (the oracle)', () => {
  it('rejects exactly what the schema rejects, naming the field the schema names first', () => {
    let accepted = 0
    let rejected = 0
    fc.assert(
      fc.property(runAgentInput, (body) => {
        const schema = schemaParse(body)
        const ours = decode(body)
        // Whatever the schema accepts, the decoder accepts, unless one of our own rules (limits,
        // unsupported media, the model allow-list) says no, and never with a shape error.
        // Whatever the decoder gets past the check with, the schema accepts.
        expect(isShapeError(ours)).toBe(!schema.success)
        if (schema.success) {
          accepted++
          return
        }
        rejected++
        const first = schema.error.issues[0]
        if (ours.ok || first === undefined) throw new Error('unreachable: both rejected')
        const issue = deepest(first)
        expect(ours.error.param).toBe(pathText(issue.path))
        // Where neither branch of string | parts got further, zod named only the first; we name both.
        const unionAtItsPath =
          first.code === 'invalid_union' && issue.path.length === first.path.length
        const problem = unionAtItsPath
          ? issue.message.replace('expected string', 'expected string or array of content parts')
          : issue.message
        expect(ours.error.message).toBe(
          `Invalid RunAgentInput: ${pathText(issue.path)}: ${problem}`,
        )
      }),
      { numRuns: 1000 },
    )
    // The generator must feed both sides, or the property proves little.
    expect(accepted).toBeGreaterThan(100)
    expect(rejected).toBeGreaterThan(100)
  })

  it('hands the decoder the same values the schema parsed, and only the fields it reads', () => {
    fc.assert(
      fc.property(fc.oneof(bodies(0), oneFault), (body) => {
        const schema = schemaParse(body)
        fc.pre(schema.success)
        const checked = checkRunAgentInput(upgradeLegacyParts(body))
        expect(schema.data).toMatchObject(asJson(checked) as object)
        expect(JSON.stringify(checked)).not.toMatch(/metadata|encryptedValue|x-extension|resume/)
      }),
      { numRuns: 300 },
    )
  })
})

describe('checkRunAgentInput', () => {
  const base = { threadId: 't', runId: 'r', messages: [{ id: 'u', role: 'user', content: 'Hi' }] }

  it('reads null in an optional field as absent, as producers before 1.0 send it', () => {
    const checked = checkRunAgentInput({
      ...base,
      protocolVersion: null,
      parentRunId: null,
      tools: null,
      context: null,
      forwardedProps: null,
      messages: [
        { id: 'u', role: 'user', content: 'Hi', name: null },
        { id: 'a', role: 'assistant', content: null, toolCalls: null, name: null },
        { id: 't', role: 'tool', toolCallId: 'c', content: 'ok', error: null },
      ],
    })
    expect(asJson(checked)).toEqual({
      threadId: 't',
      runId: 'r',
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant' },
        { role: 'tool', content: 'ok', toolCallId: 'c' },
      ],
      tools: [],
      context: [],
    })
  })

  it('accepts any forwardedProps, state and resume, and looks inside none but forwardedProps.model', () => {
    for (const forwardedProps of ['x', 3, [], { model: 5, other: 1 }]) {
      const body = { ...base, forwardedProps, state: [1], resume: [{ anything: true }] }
      if (typeof forwardedProps === 'object' && !Array.isArray(forwardedProps)) {
        expect(decode(body)).toMatchObject({ ok: false, error: { param: 'forwardedProps.model' } })
      } else {
        expect(decodeRunAgentInput(body, settings).request.model).toBe(MODEL)
      }
    }
  })

  it.each([
    [
      { ...base, threadId: undefined },
      'threadId',
      'Invalid input: expected string, received undefined',
    ],
    [{ ...base, runId: null }, 'runId', 'Invalid input: expected string, received null'],
    [{ ...base, messages: {} }, 'messages', 'Invalid input: expected array, received object'],
    [
      { ...base, messages: ['Hi'] },
      'messages[0]',
      'Invalid input: expected object, received string',
    ],
    [
      {
        ...base,
        messages: [
          {
            id: 'u',
            role: 'user',
            content: [{ type: 'image', source: { type: 'data', value: 'x' } }],
          },
        ],
      },
      'messages[0].content[0].source.mimeType',
      'Invalid input: expected string, received undefined',
    ],
    [
      {
        ...base,
        messages: [
          { id: 'a', role: 'assistant', toolCalls: [{ id: 'c', type: 'fn', function: {} }] },
        ],
      },
      'messages[0].toolCalls[0].type',
      'Invalid input: expected "function"',
    ],
    [
      { ...base, context: [{ description: 'd' }] },
      'context[0].value',
      'Invalid input: expected string, received undefined',
    ],
  ])('names the first bad field: %#', (body, param, problem) => {
    expect(() => checkRunAgentInput(body as Record<string, unknown>)).toThrow(
      expect.objectContaining({
        param,
        status: 400,
        message: `Invalid RunAgentInput: ${param}: ${problem}`,
      }),
    )
  })
})
