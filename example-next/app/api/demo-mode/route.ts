import { connection } from 'next/server'
import { isOfflineDemo } from '../../demo-mode'

// The plain page (public/vanilla.html) is static: it asks here what the React page knows as it renders.
export async function GET() {
  await connection()
  return Response.json({ offline: isOfflineDemo() }, { headers: { 'cache-control': 'no-store' } })
}
