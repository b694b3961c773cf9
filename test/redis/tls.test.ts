import { afterAll, describe, expect, it } from 'vitest'
import { call, postJson } from '../helpers/http.js'
import { freePort, type ServerProcess, spawnServer } from '../helpers/process.js'
import { redisAvailable } from '../helpers/redis.js'
import { selfSignedCert } from '../helpers/tls.js'
import { tempDir } from '../helpers/tmp.js'
import { OwnRedis } from './nodes.js'

if (await redisAvailable()) {
  describe('rediss://', () => {
    const dir = tempDir('switchboard-rediss-')
    let redis: OwnRedis | undefined
    let node: ServerProcess | undefined
    afterAll(async () => {
      node?.child.kill('SIGKILL')
      await node?.exited
      await redis?.remove()
      dir.remove()
    })

    it('reaches a Redis that speaks only TLS on its port, trusting the CA given to Node', async () => {
      const { cert, key } = selfSignedCert(dir.path)
      const tlsPort = await freePort()
      redis = await OwnRedis.start({
        aof: false,
        args: [
          '--tls-port',
          String(tlsPort),
          '--tls-cert-file',
          cert,
          '--tls-key-file',
          key,
          '--tls-ca-cert-file',
          cert,
          '--tls-auth-clients',
          'no',
        ],
      })
      node = await spawnServer(['--engine', `rediss://127.0.0.1:${tlsPort}`, '--fsync', 'os'], {
        NODE_EXTRA_CA_CERTS: cert,
      })
      expect((await call(`${node.url}/readyz`)).body).toMatchObject({ status: 'ready', engine: 'redis' })
      const published = await postJson(`${node.url}/v1/channels/secret/messages`, { over: 'tls' })
      expect(published.status).toBe(201)
      const page = await call<{ messages: { data: unknown }[] }>(
        `${node.url}/v1/channels/secret/messages?after=0`,
      )
      expect(page.body.messages.map((m) => m.data)).toEqual([{ over: 'tls' }])
    })
  })
}
