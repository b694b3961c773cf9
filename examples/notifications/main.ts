/**
 * Notifications: each user has a channel `user:<id>`; every open tab of that user subscribes to it,
 * and the backend publishes there ("a user just logged in"). Run: npm run example:notifications,
 * open /?user=alice in two tabs, then: node dist/src/cli.js pub user:alice '{"event":"login"}' --url http://127.0.0.1:7080
 */
import { runExample } from '../lib/run.js'

await runExample('notifications', { namespaces: [{ pattern: 'user:*', maxMessages: 100 }] })
