import type { FinishReason, Usage } from '../../../shared/chat-types'
import type { AnswerEvent, AnswerMeta } from '../../engine/answer-event'
import { TextPieces } from '../../engine/text-pieces'
import type { APIError, ValidationError } from '../../errors'
import { ByteBuffer, utf8 } from '../byte-buffer'
import type { Decoded, StreamEncoder } from '../protocol'
import type { ResponsesContext } from './decode-responses-request'
import { JsonTextBytes } from './json-text-bytes'
import type {
  FunctionCallItem,
  ItemStatus,
  MessageItem,
  OutputItem,
  ReasoningItem,
  ResponseObject,
  ResponseState,
} from './response-object'
import { finishStatus, itemId, outputText, responseObject } from './response-object'

/** A text delta event up to its sequence number, and from after its delta to its end. */
const DELTA_START = utf8(
  'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","sequence_number":',
)
const DELTA_END = utf8(',"logprobs":[]}\n\n')

/**
 * A closed item's text stands in the events as a slot, `"\u0000<process id>:<n>\u0000"` once
 * stringified, and its bytes are spliced in where the slot is. The slot's id is random per process,
 * so no request field (instructions, tool descriptions) can forge one.
 *
 * Hot path at the end of an answer: OpenAI's closing events repeat the whole text four times
 * (`output_text.done`, `content_part.done`, `output_item.done`, `response.completed`);
 * stringifying and encoding it each time was a quarter of a 200,000-token answer's CPU.
 */
let slotId: string | undefined
/** The process's slot id, made on first use: Workers refuse random values at global scope. */
function processSlotId(): string {
  slotId ??= crypto.randomUUID()
  return slotId
}
const SLOT_END = JSON.stringify('\u0000').slice(1)

/** The text or reasoning item being streamed (at most one at a time; tool calls are apart). */
type OpenItem =
  | { kind: 'message'; index: number; id: string; text: JsonTextBytes; deltaHead: Uint8Array }
  | { kind: 'reasoning'; index: number; id: string; text: TextPieces }

/** `response.failed` carries one of OpenAI's `ResponseError` codes. */
function failedCode(error: APIError | ValidationError): string {
  if (error.type === 'rate_limit_error') return 'rate_limit_exceeded'
  if (error.type === 'invalid_request_error') return 'invalid_prompt'
  return 'server_error'
}

/**
 * OpenAI Responses API SSE: `event: <type>` and `data: {"type":<type>,"sequence_number":n,…}` per
 * event, from `response.created` to `response.completed` (or `.incomplete`), each output item
 * opened, streamed and closed in order. The shapes follow the openai package's types; both its
 * ResponseStream and the AI SDK's Responses parser read them.
 */
export class ResponsesEncoder extends ByteBuffer implements StreamEncoder {
  readonly #meta: AnswerMeta
  readonly #decoded: Decoded<ResponsesContext>
  #seq = 0
  #started = false
  /** Every item so far, in output order; an open item's slot is rewritten when it closes. */
  readonly #output: OutputItem[] = []
  #open: OpenItem | undefined
  /** Open tool calls by their AnswerEvent index. */
  readonly #calls = new Map<number, { index: number; item: FunctionCallItem }>()
  #usage: Usage | undefined
  /** Closed items' texts as JSON strings in UTF-8, by slot number. */
  readonly #slots: Uint8Array[] = []
  /** How a slot starts in an event's JSON, once this answer has one. */
  #slotStart: string | undefined

  constructor(meta: AnswerMeta, decoded: Decoded<ResponsesContext>) {
    super()
    this.#meta = meta
    this.#decoded = decoded
  }

  start(): void {
    if (this.#started) return
    this.#started = true
    const response = this.#response({ status: 'in_progress', output: [] })
    this.#emit('response.created', { response })
    this.#emit('response.in_progress', { response })
  }

  event(event: AnswerEvent): void {
    switch (event.type) {
      case 'text':
        if (event.text !== '') this.#text(event.text)
        break
      case 'reasoning':
        if (event.text !== '') this.#reasoning(event.text)
        break
      case 'tool-call-start': {
        this.#closeOpen('completed')
        const index = this.#output.length
        const item: FunctionCallItem = {
          id: itemId('fc', this.#meta, index),
          type: 'function_call',
          status: 'in_progress',
          arguments: '',
          call_id: event.id,
          name: event.name,
        }
        this.#output.push({ ...item })
        this.#calls.set(event.index, { index, item })
        this.#emit('response.output_item.added', { output_index: index, item })
        if (event.arguments !== '') this.#arguments(event.index, event.arguments)
        break
      }
      case 'tool-call-delta':
        this.#arguments(event.index, event.arguments)
        break
      case 'tool-call-end':
        this.#closeCall(event.index, 'completed')
        break
      case 'usage':
        this.#usage = event.usage
        break
      case 'finish':
        this.#finish(event.reason)
        break
    }
  }

  error(error: APIError | ValidationError): void {
    this.start()
    // Both shapes in one event: the openai client throws on a `data` with an `error` object, and
    // the AI SDK reads either the nested or the flat form (OpenAI itself has sent both).
    this.#emit('error', {
      code: error.code,
      message: error.message,
      param: error.param,
      error: { type: error.type, code: error.code, message: error.message, param: error.param },
    })
    this.#emit('response.failed', {
      response: this.#response({
        status: 'failed',
        output: this.#snapshot('incomplete'),
        usage: this.#usage,
        error: { code: failedCode(error), message: error.message },
      }),
    })
  }

  #emit(type: string, fields: Record<string, unknown>): void {
    const json = JSON.stringify(fields)
    const head = `event: ${type}\ndata: {"type":"${type}","sequence_number":${this.#seq++},`
    const start = this.#slotStart
    if (start === undefined || !json.includes(start)) {
      this.write(`${head}${json.slice(1)}\n\n`)
      return
    }
    this.write(head)
    let from = 1
    for (let at = json.indexOf(start, from); at !== -1; at = json.indexOf(start, from)) {
      const end = json.indexOf(SLOT_END, at)
      this.write(json.slice(from, at))
      this.writeLarge(this.#slots[Number(json.slice(at + start.length, end))] as Uint8Array)
      from = end + SLOT_END.length
    }
    this.write(`${json.slice(from)}\n\n`)
  }

  /** A slot standing for a text, given as its JSON string's bytes, in the events (see processSlotId). */
  #slot(json: Uint8Array): string {
    const id = processSlotId()
    this.#slotStart ??= JSON.stringify(`\u0000${id}:`).slice(0, -1)
    this.#slots.push(json)
    return `\u0000${id}:${this.#slots.length - 1}\u0000`
  }

  #response(state: ResponseState): ResponseObject {
    const { request, context } = this.#decoded
    return responseObject(this.#meta, this.#meta.model, request, context, state)
  }

  #text(text: string): void {
    const current = this.#open
    const open = current?.kind === 'message' ? current : this.#openNewMessage()
    // Hot path (one event per token): the unchanging parts are bytes computed once, the delta is
    // written in place as a JSON string (building each event as a string and encoding it cost
    // ~1.5x the Chat Completions path per token; this path is the same work as that one).
    this.writeBytes(DELTA_START)
    this.writeInteger(this.#seq++)
    this.writeBytes(open.deltaHead)
    const quote = this.pos
    this.writeJsonString(text)
    open.text.append(this.buf, quote + 1, this.pos - 1)
    this.writeBytes(DELTA_END)
  }

  #openNewMessage(): OpenItem & { kind: 'message' } {
    this.#closeOpen('completed')
    return this.#openMessage()
  }

  #openMessage(): OpenItem & { kind: 'message' } {
    const index = this.#output.length
    const id = itemId('msg', this.#meta, index)
    const item: MessageItem = {
      id,
      type: 'message',
      status: 'in_progress',
      content: [],
      role: 'assistant',
    }
    this.#output.push(item)
    const deltaHead = utf8(
      `,"item_id":${JSON.stringify(id)},"output_index":${index},"content_index":0,"delta":`,
    )
    const open = { kind: 'message' as const, index, id, text: new JsonTextBytes(), deltaHead }
    this.#open = open
    this.#emit('response.output_item.added', { output_index: index, item })
    this.#emit('response.content_part.added', {
      item_id: id,
      output_index: index,
      content_index: 0,
      part: outputText(''),
    })
    return open
  }

  #reasoning(text: string): void {
    let open = this.#open
    if (open?.kind !== 'reasoning') {
      this.#closeOpen('completed')
      const index = this.#output.length
      const id = itemId('rs', this.#meta, index)
      const item: ReasoningItem = { id, type: 'reasoning', summary: [] }
      this.#output.push(item)
      open = { kind: 'reasoning', index, id, text: new TextPieces() }
      this.#open = open
      this.#emit('response.output_item.added', { output_index: index, item })
      this.#emit('response.reasoning_summary_part.added', {
        item_id: id,
        output_index: index,
        summary_index: 0,
        part: { type: 'summary_text', text: '' },
      })
    }
    open.text.push(text)
    this.#emit('response.reasoning_summary_text.delta', {
      item_id: open.id,
      output_index: open.index,
      summary_index: 0,
      delta: text,
    })
  }

  /** The final form of the open text or reasoning item, its text given (or a slot for it). */
  #openFinal(open: OpenItem, status: ItemStatus, text: string): OutputItem {
    if (open.kind === 'reasoning') {
      return { id: open.id, type: 'reasoning', summary: [{ type: 'summary_text', text }] }
    }
    return {
      id: open.id,
      type: 'message',
      status,
      content: [outputText(text)],
      role: 'assistant',
    }
  }

  #closeOpen(status: ItemStatus): void {
    const open = this.#open
    if (!open) return
    this.#open = undefined
    const text = this.#slot(
      open.kind === 'message' ? open.text.json : utf8(JSON.stringify(open.text.text)),
    )
    const item = this.#openFinal(open, status, text)
    this.#output[open.index] = item
    const where = { item_id: open.id, output_index: open.index }
    if (open.kind === 'reasoning') {
      const part = { type: 'summary_text', text }
      this.#emit('response.reasoning_summary_text.done', { ...where, summary_index: 0, text })
      this.#emit('response.reasoning_summary_part.done', { ...where, summary_index: 0, part })
    } else {
      this.#emit('response.output_text.done', { ...where, content_index: 0, text, logprobs: [] })
      this.#emit('response.content_part.done', {
        ...where,
        content_index: 0,
        part: outputText(text),
      })
    }
    this.#emit('response.output_item.done', { output_index: open.index, item })
  }

  #arguments(callIndex: number, delta: string): void {
    const call = this.#calls.get(callIndex)
    if (!call) return
    call.item.arguments += delta
    this.#emit('response.function_call_arguments.delta', {
      item_id: call.item.id,
      output_index: call.index,
      delta,
    })
  }

  #closeCall(callIndex: number, status: ItemStatus): void {
    const call = this.#calls.get(callIndex)
    if (!call) return
    this.#calls.delete(callIndex)
    const item: FunctionCallItem = { ...call.item, status }
    this.#output[call.index] = item
    this.#emit('response.function_call_arguments.done', {
      item_id: item.id,
      output_index: call.index,
      name: item.name,
      arguments: item.arguments,
    })
    this.#emit('response.output_item.done', { output_index: call.index, item })
  }

  #finish(reason: FinishReason): void {
    const end = finishStatus(reason)
    const itemStatus: ItemStatus = end.status === 'completed' ? 'completed' : 'incomplete'
    this.#closeOpen(itemStatus)
    for (const callIndex of [...this.#calls.keys()]) this.#closeCall(callIndex, itemStatus)
    // An empty answer is still one (empty) message, as in the non-stream form.
    if (this.#output.length === 0) {
      this.#openMessage()
      this.#closeOpen(itemStatus)
    }
    const type = end.status === 'completed' ? 'response.completed' : 'response.incomplete'
    this.#emit(type, {
      response: this.#response({ ...end, output: this.#output, usage: this.#usage }),
    })
  }

  /** The items as they stand (open ones with their text so far, marked `status`). */
  #snapshot(status: ItemStatus): OutputItem[] {
    const output = [...this.#output]
    if (this.#open) {
      output[this.#open.index] = this.#openFinal(this.#open, status, this.#open.text.text)
    }
    for (const call of this.#calls.values()) output[call.index] = { ...call.item, status }
    return output
  }
}
