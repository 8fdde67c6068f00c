import { describe, expect, it } from 'vitest'
import { chooseEncoding } from '../../../src/server/http/accept-encoding'

const OURS = ['gzip', 'br', 'zstd'] as const

describe('choosing the content coding from Accept-Encoding', () => {
  it('takes our preferred coding when the client weighs several equally (what browsers send)', () => {
    expect(chooseEncoding('br, zstd, gzip, deflate', OURS)).toBe('gzip')
    expect(chooseEncoding('deflate, zstd, br', OURS)).toBe('br')
  })

  it('follows the client’s q-values over our preference', () => {
    expect(chooseEncoding('br;q=0.5, gzip;q=0.9', OURS)).toBe('gzip')
    expect(chooseEncoding('br;q=0.1, zstd;q=0.2, gzip;q=0.1', OURS)).toBe('zstd')
  })

  it('reads q=0 as a refusal, also of a coding `*` would allow', () => {
    expect(chooseEncoding('br;q=0, gzip', OURS)).toBe('gzip')
    expect(chooseEncoding('*, gzip;q=0, br;q=0', OURS)).toBe('zstd')
    expect(chooseEncoding('gzip;q=0', OURS)).toBeUndefined()
  })

  it('answers unencoded for identity, an absent or empty header, and codings we do not produce', () => {
    expect(chooseEncoding('identity', OURS)).toBeUndefined()
    expect(chooseEncoding(null, OURS)).toBeUndefined()
    expect(chooseEncoding('', OURS)).toBeUndefined()
    expect(chooseEncoding('deflate, compress', OURS)).toBeUndefined()
    expect(chooseEncoding('*;q=0', OURS)).toBeUndefined()
  })

  it('offers only what the runtime has (no zstd on Node 20)', () => {
    expect(chooseEncoding('zstd', ['gzip', 'br'])).toBeUndefined()
    expect(chooseEncoding('zstd, br;q=0.5', ['gzip', 'br'])).toBe('br')
  })

  it('is lenient with case, spaces, x-gzip and malformed weights', () => {
    expect(chooseEncoding('  GZip ; Q=1 ', OURS)).toBe('gzip')
    expect(chooseEncoding('x-gzip', OURS)).toBe('gzip')
    expect(chooseEncoding('br;q=abc, gzip', OURS)).toBe('gzip')
    expect(chooseEncoding('br;q=7', OURS)).toBe('br')
    expect(chooseEncoding(',,;q=1,', OURS)).toBeUndefined()
  })
})
