import Link from 'next/link'
import { connection } from 'next/server'
import { isOfflineDemo } from '../demo-mode'
import styles from '../page.module.css'
import { Compare } from './compare'

export const metadata = { title: 'copilotedge · two models side by side' }

export default async function ComparePage() {
  // Per request, as on the chat page: the launcher decides at start where answers come from.
  await connection()
  const offline = isOfflineDemo()

  return (
    <div className={`${styles.shell} ${styles.wide}`}>
      <header className={styles.header}>
        <div className={styles.brand}>
          <span className={styles.logo} aria-hidden="true" />
          <span className={styles.name}>copilotedge</span>
          <span className={styles.tag}>Two models side by side</span>
        </div>
        <nav aria-label="Examples" className={styles.nav}>
          <Link href="/">Chat</Link>
          <a href="/vanilla.html">Plain client (no React)</a>
        </nav>
      </header>

      {offline ? (
        <p className={styles.banner} data-testid="offline-banner">
          <strong>Offline demo:</strong> both answers come from the Workers AI emulator in{' '}
          <code>copilotedge/testing</code>, not from real models. Set{' '}
          <code>CLOUDFLARE_ACCOUNT_ID</code> and <code>CLOUDFLARE_API_TOKEN</code> to compare
          Workers AI models.
        </p>
      ) : null}

      <main className={styles.main}>
        <Compare />
      </main>
    </div>
  )
}
