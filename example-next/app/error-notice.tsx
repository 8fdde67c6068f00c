'use client'
import { useEffect, useRef } from 'react'
import styles from './chat.module.css'
import { describeError } from './describe-error'

export function ErrorNotice({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const { title, detail } = describeError(error)
  const card = useRef<HTMLDivElement>(null)
  // On a short screen the page itself may scroll: bring a new error into view.
  // biome-ignore lint/correctness/useExhaustiveDependencies: once per error
  useEffect(() => {
    card.current?.scrollIntoView({ block: 'nearest' })
  }, [error])
  return (
    <div ref={card} className={styles.error} role="alert" data-testid="chat-error">
      <svg className={styles.errorIcon} viewBox="0 0 20 20" aria-hidden="true">
        <path
          fill="currentColor"
          d="M10 1.5a8.5 8.5 0 1 0 0 17 8.5 8.5 0 0 0 0-17Zm0 4a1 1 0 0 1 1 1v4a1 1 0 1 1-2 0v-4a1 1 0 0 1 1-1Zm0 7.5a1.1 1.1 0 1 1 0 2.2 1.1 1.1 0 0 1 0-2.2Z"
        />
      </svg>
      <div className={styles.errorText}>
        <p className={styles.errorTitle}>{title}</p>
        <p className={styles.errorDetail}>{detail}</p>
      </div>
      {onRetry ? (
        <button type="button" className={styles.ghostButton} onClick={onRetry}>
          Try again
        </button>
      ) : null}
    </div>
  )
}
