// Test-only entry point (`@dataverse-outbox/consumer/testing`): crash-injection hooks for the crash tests and the chaos
// run, which prove that a kill at any point neither duplicates nor loses an effect. Not in the main entry, nor in
// OutboxConsumerOptions, so production code cannot set them by accident.
import { createConsumer, type OutboxConsumer, type OutboxConsumerOptions } from './consumer';
import type { ConsumerFaultInjection } from './internal/processMessage';

export type { ConsumerFaultInjection } from './internal/processMessage';

/** createOutboxConsumer, with `faultInjection` run at its points of the per-message pipeline. */
export function createOutboxConsumerWithFaultInjection<TTransaction>(options: OutboxConsumerOptions<TTransaction>, faultInjection: ConsumerFaultInjection): OutboxConsumer {
  return createConsumer(options, faultInjection);
}
