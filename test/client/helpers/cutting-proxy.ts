// A TCP proxy (node:net, 127.0.0.1) in front of an HTTP server that cuts connections: the k-th
// connection is destroyed (both sides) once `cuts[k]` bytes of its response *body* (counted after the
// response's header block, chunked framing included) went through. Connections past the plan, or whose
// body is shorter than their cut, are left whole.
import { createServer, type Socket } from 'node:net'

const HEADER_END = Buffer.from('\r\n\r\n')

export async function startCuttingProxy(target: { host: string; port: number }, cuts: number[]) {
  const plan = [...cuts]
  const sockets = new Set<Socket>()
  let connections = 0
  let cutsMade = 0
  const server = createServer((client) => {
    connections++
    const cut = plan.shift()
    const upstream = new (client.constructor as typeof Socket)()
    sockets.add(client)
    sockets.add(upstream)
    const drop = () => {
      client.destroy()
      upstream.destroy()
    }
    client.on('close', () => {
      sockets.delete(client)
      upstream.destroy()
    })
    upstream.on('close', () => {
      sockets.delete(upstream)
      client.destroy()
    })
    client.on('error', drop)
    upstream.on('error', drop)
    upstream.connect(target.port, target.host)
    client.on('data', (data) => upstream.write(data))

    let head = Buffer.alloc(0)
    let bodyBytes: number | undefined // undefined until the header block has passed
    upstream.on('data', (data: Buffer) => {
      if (cut === undefined) {
        client.write(data)
        return
      }
      let chunk = data
      if (bodyBytes === undefined) {
        head = Buffer.concat([head, data])
        const end = head.indexOf(HEADER_END)
        if (end === -1) {
          client.write(data)
          return
        }
        const bodyStart = end + HEADER_END.length
        const headerPart = data.subarray(0, data.length - (head.length - bodyStart))
        client.write(headerPart)
        chunk = head.subarray(bodyStart)
        bodyBytes = 0
      }
      const room = cut - bodyBytes
      if (chunk.length < room) {
        bodyBytes += chunk.length
        client.write(chunk)
        return
      }
      cutsMade++
      client.write(chunk.subarray(0, room), drop)
      bodyBytes = cut
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  return {
    origin: `http://127.0.0.1:${port}`,
    /** Connections accepted and connections actually cut. */
    stats: () => ({ connections, cuts: cutsMade }),
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
