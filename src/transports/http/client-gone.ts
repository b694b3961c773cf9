import type { FastifyReply } from 'fastify'

/**
 * An AbortSignal that fires when the client of a held request goes away, and the function that
 * stops listening once the answer is ready.
 */
export function clientGone(reply: FastifyReply): { signal: AbortSignal; release: () => void } {
  const gone = new AbortController()
  const onClose = () => gone.abort()
  reply.raw.once('close', onClose)
  // The client may have left before the handler ran.
  if (reply.raw.destroyed || reply.request.raw.socket?.destroyed) gone.abort()
  return { signal: gone.signal, release: () => reply.raw.off('close', onClose) }
}
