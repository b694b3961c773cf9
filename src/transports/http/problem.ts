import type { FastifyReply } from 'fastify'
import { type ErrorCode, type Problem, problemOf, SwitchboardError } from '../../protocol/errors.js'

/** Fastify's own error codes, as contract codes. */
const FASTIFY_CODES: Readonly<Record<string, ErrorCode>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_body',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_EMPTY_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_TYPE: 'unsupported_media_type',
  FST_ERR_BAD_URL: 'invalid_parameter',
  FST_ERR_ASYNC_CONSTRAINT: 'invalid_parameter',
}

/** Any error as a problem document; what is not ours or Fastify's is `internal`, without details. */
export function toProblem(error: unknown): Problem {
  if (error instanceof SwitchboardError) return problemOf(error.code, error.message, error.extra)
  const code = (error as { code?: string }).code
  const mapped = code ? FASTIFY_CODES[code] : undefined
  if (mapped) return problemOf(mapped, (error as Error).message)
  const status = (error as { statusCode?: number }).statusCode
  if (status === 413) return problemOf('payload_too_large', (error as Error).message)
  if (status && status >= 400 && status < 500) return problemOf('invalid_parameter', (error as Error).message)
  return problemOf('internal', 'the server failed to answer this request')
}

export function sendProblem(reply: FastifyReply, problem: Problem): FastifyReply {
  return reply.code(problem.status).type('application/problem+json').send(JSON.stringify(problem))
}

export function fail(code: ErrorCode, detail: string): never {
  throw new SwitchboardError(code, detail)
}
