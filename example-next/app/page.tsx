import Link from 'next/link'
import { connection } from 'next/server'
import { Chat } from './chat'
import { isOfflineDemo } from './demo-mode'
import styles from './page.module.css'

export default async function Home() {
  // Read the environment per request (not baked in at `next build`): the launcher decides at start
  // whether answers come from Workers AI or from the offline emulator.
  await connection()
  const offline = isOfflineDemo()

  return (
    <div className={styles.shell}>
      <header className={styles.header}>
        <div className={styles.brand}>
          <span className={styles.logo} aria-hidden="true" />
          <span className={styles.name}>copilotedge</span>
          <span className={styles.tag}>Next.js example</span>
        </div>
        <nav aria-label="Examples" className={styles.nav}>
          <Link href="/compare">Two models side by side</Link>
          <a href="/vanilla.html">Plain client (no React)</a>
        </nav>
      </header>

      {offline ? (
        <p className={styles.banner} data-testid="offline-banner">
          <strong>Offline demo:</strong> answers come from the Workers AI emulator in{' '}
          <code>copilotedge/testing</code>, not from a real model. Set{' '}
          <code>CLOUDFLARE_ACCOUNT_ID</code> and <code>CLOUDFLARE_API_TOKEN</code> to chat with
          Workers AI.
        </p>
      ) : null}

      <main className={styles.main}>
        <Chat />
      </main>
    </div>
  )
}
