import styles from './chat.module.css'
import { CollapsibleText } from './collapsible-text'
import { formatDuration } from './format'
import { RichText } from './rich-text'
import type { TurnStats } from './turn-stats'

export interface MessageProps {
  author: 'user' | 'assistant'
  content: string
  /** This answer is still arriving. */
  streaming?: boolean
  stats?: TurnStats
}

export function Message({ author, content, streaming = false, stats }: MessageProps) {
  if (author === 'user') {
    return (
      <li className={`${styles.message} ${styles.user}`} data-role="user">
        <span className={styles.srOnly}>You said:</span>
        <div className={styles.bubble}>
          <CollapsibleText text={content} />
        </div>
      </li>
    )
  }
  return (
    <li
      className={`${styles.message} ${styles.assistant}`}
      data-role="assistant"
      data-streaming={streaming || undefined}
    >
      <span className={styles.avatar} aria-hidden="true" />
      <div className={styles.assistantBody}>
        <span className={styles.srOnly}>Assistant:</span>
        {streaming && content === '' ? (
          <div className={styles.thinking} data-testid="thinking">
            <span />
            <span />
            <span />
            <span className={styles.srOnly}>Thinking…</span>
          </div>
        ) : (
          <div className={styles.answer} data-testid="answer">
            <RichText text={content} />
            {streaming ? <span className={styles.caret} aria-hidden="true" /> : null}
          </div>
        )}
        <Meta stats={stats} />
      </div>
    </li>
  )
}

function Meta({ stats }: { stats: TurnStats | undefined }) {
  if (!stats) return null
  const items: React.ReactNode[] = []
  if (stats.cached) {
    items.push(
      <span key="cached" className={styles.badgeCached} data-testid="cached-badge">
        Cached answer
      </span>,
    )
  }
  if (stats.outcome === 'aborted') {
    items.push(
      <span key="stopped" className={styles.badgeStopped} data-testid="stopped-badge">
        Stopped
      </span>,
    )
  }
  if (stats.ttftMs !== undefined) {
    items.push(
      <span key="ttft" data-testid="ttft" title="Time from Send to the first token">
        first token {formatDuration(stats.ttftMs)}
      </span>,
    )
  }
  if (stats.totalMs !== undefined && stats.outcome === 'done') {
    items.push(<span key="total">total {formatDuration(stats.totalMs)}</span>)
  }
  if (stats.model) items.push(<span key="model">{stats.model}</span>)
  if (items.length === 0) return null
  return <div className={styles.meta}>{items}</div>
}
