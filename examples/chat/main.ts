/**
 * Chat: rooms are channels (`chat:<room>`), history is the channel's log (read from offset 0 on
 * join), and presence shows who is online. Run: npm run example:chat, then open the page twice.
 */
import { runExample } from '../lib/run.js'

await runExample('chat', {
  namespaces: [{ pattern: 'chat:*', presence: true, maxMessages: 1000 }],
})
