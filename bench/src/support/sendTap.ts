// Observes when the publisher's messages are accepted by Service Bus: wraps the ServiceBusClient handed to the
// publisher so that each sent batch reports its messageIds once sendMessages resolves. Behaviour is unchanged (the SDK
// gets its own batch objects back); this is the measuring point of "commit to publish" (available on Service Bus).
import type { ServiceBusClient, ServiceBusMessage, ServiceBusMessageBatch, ServiceBusSender } from '@azure/service-bus';

export type SentListener = (messageIds: string[], at: number) => void;

function forward<T extends object>(target: T, prop: string | symbol): unknown {
  const v = Reflect.get(target, prop, target) as unknown;
  return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
}

export function tapServiceBusClient(client: ServiceBusClient, onSent: SentListener): ServiceBusClient {
  const tapped = new WeakMap<object, { original: ServiceBusMessageBatch; ids: string[] }>();

  const tapBatch = (batch: ServiceBusMessageBatch): ServiceBusMessageBatch => {
    const ids: string[] = [];
    const proxy = new Proxy(batch, {
      get(target, prop) {
        if (prop === 'tryAddMessage') {
          return (message: ServiceBusMessage, options?: Parameters<ServiceBusMessageBatch['tryAddMessage']>[1]) => {
            const ok = target.tryAddMessage(message, options);
            if (ok && message.messageId !== undefined) ids.push(String(message.messageId));
            return ok;
          };
        }
        return forward(target, prop);
      },
    });
    tapped.set(proxy, { original: batch, ids });
    return proxy;
  };

  const tapSender = (sender: ServiceBusSender): ServiceBusSender =>
    new Proxy(sender, {
      get(target, prop) {
        if (prop === 'createMessageBatch') {
          return async (options?: Parameters<ServiceBusSender['createMessageBatch']>[0]) => tapBatch(await target.createMessageBatch(options));
        }
        if (prop === 'sendMessages') {
          return async (messages: ServiceBusMessageBatch | ServiceBusMessage | ServiceBusMessage[], options?: Parameters<ServiceBusSender['sendMessages']>[1]) => {
            const t = tapped.get(messages as object);
            if (t) {
              await target.sendMessages(t.original, options);
              onSent(t.ids, performance.now());
              return;
            }
            await target.sendMessages(messages as ServiceBusMessage[], options);
            const list = Array.isArray(messages) ? messages : [messages as ServiceBusMessage];
            onSent(list.map((m) => String(m.messageId ?? '')), performance.now());
          };
        }
        return forward(target, prop);
      },
    });

  return new Proxy(client, {
    get(target, prop) {
      if (prop === 'createSender') return (...args: Parameters<ServiceBusClient['createSender']>) => tapSender(target.createSender(...args));
      return forward(target, prop);
    },
  });
}
