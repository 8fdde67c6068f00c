import { sha256 } from '@noble/hashes/sha2'
import { bytesToHex } from '@noble/hashes/utils'

// Synchronous SHA-256 from @noble/hashes (audited, pure JS, runs unchanged in Workers, Node and
// browsers). Why not `crypto.subtle.digest`: it is async and was measured here at ~31 µs per small
// digest (a thread-pool hop in Node), most of the 50 µs budget of a cache hit. Why not a fast
// 32/64-bit hash: a key collision serves one caller another's answer, and a crafted collision would
// let a caller poison the cache; SHA-256 rules both out.

const encoder = new TextEncoder()

/** Lower-case hex SHA-256 of the UTF-8 bytes of `text`. */
export function sha256Hex(text: string): string {
  return bytesToHex(sha256(encoder.encode(text)))
}
