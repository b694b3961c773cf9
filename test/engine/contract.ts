import { afterEach, describe, expect, it } from 'vitest'
import type { AppendItem, Engine } from '../../src/core/engine.js'
import type { Message } from '../../src/core/message.js'
import { Namespaces } from '../../src/core/namespaces.js'
import { waitUntil } from '../helpers/wait.js'

export interface EngineHandle {
  readonly engine: Engine
  /** Closes the engine and opens a new one on the same storage (durable engines only). */
  readonly reopen?: () => Promise<Engine>
  /** Releases whatever the handle created (files, key prefixes). */
  readonly dispose?: () => Promise<void>
}

export type EngineFactory = (options: {
  namespaces: Namespaces
  idempotencyWindowMs: number
  /** How long a finished job is kept (the engine's default when absent). */
  jobRetentionMs?: number
}) => Promise<EngineHandle>

/**
 * The handle of a durable engine: `reopen` closes it and calls `open` again on the same storage;
 * `dispose` closes it and then runs `release` (remove files, keys).
 */
export function durableHandle(
  open: () => Engine,
  release: () => Promise<void> | void = () => undefined,
): EngineHandle {
  let engine = open()
  return {
    engine,
    reopen: async () => {
      await engine.close()
      engine = open()
      return engine
    },
    dispose: async () => {
      await engine.close().catch(() => undefined)
      await release()
    },
  }
}

const NAMESPACES = new Namespaces([
  { pattern: 'short:*', maxMessages: 3 },
  { pattern: 'aging:*', maxAgeMs: 200 },
  { pattern: 'fleeting:*', ephemeral: true, maxMessages: 5 },
])

function item(channel: string, text: string, extra: Partial<AppendItem> = {}): AppendItem {
  return { channel, headers: {}, contentType: 'text/plain', payload: Buffer.from(text), ...extra }
}

function texts(messages: readonly Message[]): string[] {
  return messages.map((m) => Buffer.from(m.payload).toString())
}

/**
 * The behaviour every engine must have, run against each implementation. `batchAcrossChannels:
 * false` is a Redis Cluster's, where one atomic batch keeps to one channel's slot.
 */
export function engineContract(
  name: string,
  factory: EngineFactory,
  { durable, batchAcrossChannels = true }: { durable: boolean; batchAcrossChannels?: boolean },
): void {
  describe(`engine contract: ${name}`, () => {
    let handle: EngineHandle | undefined
    let engine: Engine
    const open = async (idempotencyWindowMs = 60_000) => {
      handle = await factory({ namespaces: NAMESPACES, idempotencyWindowMs })
      engine = handle.engine
      return engine
    }
    afterEach(async () => {
      await engine?.close().catch(() => undefined)
      await handle?.dispose?.()
      handle = undefined
    })

    if (batchAcrossChannels) {
      it('appends at offsets 1, 2, 3 … per channel, in input order, all in one batch', async () => {
        await open()
        const first = await engine.append([item('a', 'a1'), item('b', 'b1'), item('a', 'a2')])
        expect(first.replayed).toBe(false)
        expect(first.coordinates.map((c) => [c.channel, c.offset])).toEqual([
          ['a', 1],
          ['b', 1],
          ['a', 2],
        ])
        const second = await engine.append([item('a', 'a3')])
        expect(second.coordinates[0].offset).toBe(3)
        const ids = new Set([...first.coordinates, ...second.coordinates].map((c) => c.id))
        expect(ids.size).toBe(4)
        expect(texts(await engine.read('a', 0, 10))).toEqual(['a1', 'a2', 'a3'])
      })
    } else {
      it('appends at offsets 1, 2, 3 … in input order in one batch, and refuses a batch across channels', async () => {
        await open()
        const first = await engine.append([item('a', 'a1'), item('a', 'a2')])
        expect(first.coordinates.map((c) => [c.channel, c.offset])).toEqual([
          ['a', 1],
          ['a', 2],
        ])
        await expect(engine.append([item('a', 'a3'), item('b', 'b1')])).rejects.toMatchObject({
          code: 'invalid_body',
        })
        expect(await engine.info('b')).toBeUndefined()
        const second = await engine.append([item('a', 'a3')])
        expect(second.coordinates[0].offset).toBe(3)
        expect(texts(await engine.read('a', 0, 10))).toEqual(['a1', 'a2', 'a3'])
      })
    }

    it('gives concurrent appends unique, gap-free offsets', async () => {
      await open()
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) => engine.append([item('busy', `m${i}`)])),
      )
      const offsets = results.map((r) => r.coordinates[0].offset).sort((x, y) => x - y)
      expect(offsets).toEqual(Array.from({ length: 200 }, (_, i) => i + 1))
      const stored = await engine.read('busy', 0, 1000)
      expect(stored.map((m) => m.offset)).toEqual(offsets)
      for (const r of results) {
        const m = stored[r.coordinates[0].offset - 1]
        expect(m.id).toBe(r.coordinates[0].id)
      }
    })

    it('reads pages after an offset, limited, and nothing past the end', async () => {
      await open()
      await engine.append(Array.from({ length: 10 }, (_, i) => item('pages', `p${i + 1}`)))
      expect((await engine.read('pages', 3, 4)).map((m) => m.offset)).toEqual([4, 5, 6, 7])
      expect((await engine.read('pages', 0, 2)).map((m) => m.offset)).toEqual([1, 2])
      expect(await engine.read('pages', 10, 5)).toEqual([])
      expect(await engine.read('never-written', 0, 5)).toEqual([])
    })

    it('keeps payload bytes, content type, headers, id and time exactly', async () => {
      await open()
      const bytes = Buffer.from([0, 255, 1, 254, 10, 13, 0])
      const before = Date.now()
      const { coordinates } = await engine.append([
        item('exact', '', {
          payload: bytes,
          contentType: 'application/x-thing',
          headers: { trace: 'abc', 'x-n': '1' },
        }),
      ])
      const [m] = await engine.read('exact', 0, 1)
      expect(Buffer.from(m.payload).equals(bytes)).toBe(true)
      expect(m.contentType).toBe('application/x-thing')
      expect(m.headers).toEqual({ trace: 'abc', 'x-n': '1' })
      expect(m.id).toBe(coordinates[0].id)
      expect(m.time).toBe(coordinates[0].time)
      expect(m.time).toBeGreaterThanOrEqual(before - 5)
      expect(m.channel).toBe('exact')
    })

    it('reports channel info, and nothing for a channel never written', async () => {
      await open()
      expect(await engine.info('ghost')).toBeUndefined()
      await engine.append([item('sized', 'abc'), item('sized', 'de')])
      expect(await engine.info('sized')).toEqual({
        channel: 'sized',
        firstOffset: 1,
        lastOffset: 2,
        messages: 2,
        bytes: 5,
      })
    })

    it('dedupes by idempotency key within a scope, and not across scopes', async () => {
      await open()
      const key = { scope: 'publish:idem', key: 'k-1' }
      const first = await engine.append([item('idem', 'once')], key)
      const again = await engine.append([item('idem', 'twice')], key)
      expect(again.replayed).toBe(true)
      expect(again.coordinates).toEqual(first.coordinates)
      expect(texts(await engine.read('idem', 0, 10))).toEqual(['once'])
      const other = await engine.append([item('idem', 'other scope')], {
        scope: 'publish:elsewhere',
        key: 'k-1',
      })
      expect(other.replayed).toBe(false)
      expect(other.coordinates[0].offset).toBe(2)
    })

    it('forgets idempotency keys after the window', async () => {
      await open(50)
      const key = { scope: 'publish:window', key: 'k' }
      await engine.append([item('window', '1')], key)
      await new Promise((resolve) => setTimeout(resolve, 80))
      const later = await engine.append([item('window', '2')], key)
      expect(later.replayed).toBe(false)
      expect(later.coordinates[0].offset).toBe(2)
    })

    it('tells listeners of appended messages in offset order, until removed', async () => {
      await open()
      const seen: string[] = []
      const off = engine.onMessages((channel, messages) => {
        for (const m of messages) seen.push(`${channel}:${m.offset}:${Buffer.from(m.payload).toString()}`)
      })
      await engine.append([item('heard', 'x'), item('heard', 'y')])
      await engine.append([item('other', 'z')])
      await engine.append([item('heard', 'w')])
      await waitUntil(() => seen.length === 4, { what: 'four notifications' })
      expect(seen.filter((s) => s.startsWith('heard'))).toEqual(['heard:1:x', 'heard:2:y', 'heard:3:w'])
      expect(seen).toContain('other:1:z')
      off()
      await engine.append([item('heard', 'unheard')])
      await engine.append([item('heard', 'flush')])
      expect(seen.length).toBe(4)
    })

    it('trims by count, oldest first, keeping offsets', async () => {
      await open()
      await engine.append(Array.from({ length: 5 }, (_, i) => item('short:x', `s${i + 1}`)))
      const kept = await engine.read('short:x', 0, 10)
      expect(kept.map((m) => m.offset)).toEqual([3, 4, 5])
      expect(await engine.info('short:x')).toEqual({
        channel: 'short:x',
        firstOffset: 3,
        lastOffset: 5,
        messages: 3,
        bytes: 6,
      })
      const { coordinates } = await engine.append([item('short:x', 's6')])
      expect(coordinates[0].offset).toBe(6)
    })

    it('trims by age', async () => {
      await open()
      await engine.append([item('aging:y', 'old')])
      await waitUntil(async () => (await engine.info('aging:y'))?.messages === 0, {
        timeoutMs: 5000,
        what: 'age trim',
      })
      expect(await engine.read('aging:y', 0, 10)).toEqual([])
      const info = await engine.info('aging:y')
      expect(info).toMatchObject({ firstOffset: 2, lastOffset: 1, bytes: 0 })
      const { coordinates } = await engine.append([item('aging:y', 'new')])
      expect(coordinates[0].offset).toBe(2)
    })

    it('serves ephemeral channels, with their own retention', async () => {
      await open()
      const heard: number[] = []
      engine.onMessages((channel, messages) => {
        if (channel === 'fleeting:z') heard.push(...messages.map((m) => m.offset))
      })
      await engine.append(Array.from({ length: 7 }, (_, i) => item('fleeting:z', `f${i + 1}`)))
      expect((await engine.read('fleeting:z', 0, 10)).map((m) => m.offset)).toEqual([3, 4, 5, 6, 7])
      await waitUntil(() => heard.length === 7, { what: 'ephemeral notifications' })
      const mixed = await engine.append([item('fleeting:z', 'f8'), item('solid', 's1')])
      expect(mixed.coordinates.map((c) => [c.channel, c.offset])).toEqual([
        ['fleeting:z', 8],
        ['solid', 1],
      ])
    })

    it('stores cursors by name and lists them by prefix', async () => {
      await open()
      expect(await engine.cursors.get('webhook:a*:a1')).toBeUndefined()
      await engine.cursors.set('webhook:a*:a1', 5)
      await engine.cursors.set('webhook:a*:a2', 9)
      await engine.cursors.set('webhook:b*:b1', 1)
      await engine.cursors.set('webhook:a*:a1', 6)
      expect(await engine.cursors.get('webhook:a*:a1')).toBe(6)
      expect(await engine.cursors.list('webhook:a*:')).toEqual(
        new Map([
          ['webhook:a*:a1', 6],
          ['webhook:a*:a2', 9],
        ]),
      )
      expect((await engine.cursors.list('nothing')).size).toBe(0)
    })

    it('lists channels by name prefix, ephemeral ones included', async () => {
      await open()
      for (const channel of ['list:b', 'list:a', 'lis', 'other']) await engine.append([item(channel, '1')])
      await engine.append([item('fleeting:list', '1')])
      expect(await engine.channels('list:')).toEqual(['list:a', 'list:b'])
      expect(await engine.channels('lis')).toEqual(['lis', 'list:a', 'list:b'])
      expect(await engine.channels('fleeting:')).toEqual(['fleeting:list'])
      expect(await engine.channels('none:')).toEqual([])
    })

    it('answers ping', async () => {
      await open()
      await expect(engine.ping()).resolves.toBeUndefined()
    })

    if (durable) {
      it('keeps messages, offsets and idempotency keys across a reopen; ephemeral ones go', async () => {
        await open()
        const key = { scope: 'publish:keep', key: 'same' }
        const first = await engine.append([item('keep', 'k1'), item('keep', 'k2')], key)
        await engine.append([item('fleeting:gone', 'bye')])
        engine = await handle!.reopen!()
        expect(texts(await engine.read('keep', 0, 10))).toEqual(['k1', 'k2'])
        const replay = await engine.append([item('keep', 'again')], key)
        expect(replay).toEqual({ coordinates: first.coordinates, replayed: true })
        expect((await engine.append([item('keep', 'k3')])).coordinates[0].offset).toBe(3)
        expect(await engine.read('fleeting:gone', 0, 10)).toEqual([])
      })

      it('keeps cursors across a reopen', async () => {
        await open()
        await engine.cursors.set('webhook:x', 41)
        await engine.cursors.set('webhook:x', 42)
        engine = await handle!.reopen!()
        expect(await engine.cursors.get('webhook:x')).toBe(42)
        expect(await engine.cursors.list('webhook:')).toEqual(new Map([['webhook:x', 42]]))
      })
    }
  })
}
