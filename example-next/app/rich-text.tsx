import { Fragment, type ReactNode, useMemo } from 'react'
import styles from './chat.module.css'

// Models answer in Markdown. This renders the parts that matter in a chat (fenced code blocks,
// `inline code`, **bold**, # headings) as React text nodes: never HTML from the model, so nothing it
// says can inject markup. Everything else stays as typed (white-space: pre-wrap keeps lists readable).
// One linear pass per render; the hook renders at most once per animation frame while streaming.

const FENCE = /^```[^\n]*(?:\n|$)/m
const INLINE = /(`[^`\n]+`|\*\*[^*\n]+\*\*|^#{1,6} [^\n]*)/m

function inline(text: string): ReactNode[] {
  return text.split(new RegExp(INLINE.source, 'gm')).map((part, i) => {
    // split() with one capture group: odd indexes are the matches.
    if (i % 2 === 0) return part
    const key = `${i}`
    if (part.startsWith('`')) return <code key={key}>{part.slice(1, -1)}</code>
    if (part.startsWith('**')) return <strong key={key}>{part.slice(2, -2)}</strong>
    return (
      <strong key={key} className={styles.heading}>
        {part.replace(/^#+ /, '')}
      </strong>
    )
  })
}

export function RichText({ text }: { text: string }) {
  return useMemo(() => {
    // Even parts are prose, odd parts are code (an unclosed fence, mid-stream, runs to the end).
    const parts = text.split(new RegExp(FENCE.source, 'gm'))
    return parts.map((part, i) =>
      i % 2 === 1 ? (
        // biome-ignore lint/suspicious/noArrayIndexKey: parts only ever grow at the end (streaming)
        <pre key={i} className={styles.codeBlock}>
          <code>{part.replace(/\n$/, '')}</code>
        </pre>
      ) : (
        // The line break before a code block is the block's own edge.
        // biome-ignore lint/suspicious/noArrayIndexKey: parts only ever grow at the end (streaming)
        <Fragment key={i}>{inline(i + 1 < parts.length ? part.replace(/\n$/, '') : part)}</Fragment>
      ),
    )
  }, [text])
}
