import { createHmac } from 'node:crypto'

/**
 * The `Switchboard-Signature` value: `t=<unix ms>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. Signing the
 * time with the body lets a receiver refuse old replays.
 */
export function signatureHeader(secret: string, time: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${time}.${body}`).digest('hex')
  return `t=${time},v1=${mac}`
}
