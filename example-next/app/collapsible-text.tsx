'use client'
import { useState } from 'react'
import styles from './chat.module.css'

/** Longer than this (characters or lines), a message starts collapsed. */
const COLLAPSE_CHARS = 1200
const COLLAPSE_LINES = 16
/** What a collapsed message shows. */
const PREVIEW_CHARS = 300
const PREVIEW_LINES = 6

function preview(text: string): string {
  let cut = text.slice(0, PREVIEW_CHARS).split('\n').slice(0, PREVIEW_LINES).join('\n')
  // Never end on half of a surrogate pair.
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1)
  return `${cut.trimEnd()}…`
}

/**
 * Plain text that starts collapsed when long (a pasted log, a whole file) behind a Show more toggle,
 * so one message cannot fill the conversation.
 */
export function CollapsibleText({ text }: { text: string }) {
  const [expanded, setExpanded] = useState(false)
  const long =
    text.length > COLLAPSE_CHARS || text.split('\n', COLLAPSE_LINES + 1).length > COLLAPSE_LINES
  if (!long) return <>{text}</>
  return (
    <>
      <span data-testid="message-text">{expanded ? text : preview(text)}</span>
      <span className={styles.collapseRow}>
        <button
          type="button"
          className={styles.collapseToggle}
          aria-expanded={expanded}
          onClick={() => setExpanded(!expanded)}
        >
          {expanded ? 'Show less' : 'Show more'}
        </button>
        <span className={styles.collapseSize}>
          {text.length.toLocaleString('en-US')} characters
        </span>
      </span>
    </>
  )
}
