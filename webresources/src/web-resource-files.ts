// The web resources this workspace builds: name in Dataverse, entry source, fixed WebResourceId (never change an id:
// Dataverse matches components by it across solution versions).
export const WebResourceFiles = [
  { name: 'obx_/outbox/client.js', entry: 'src/entries/client.ts', id: '2fda7212-7d2e-4da4-be06-77fd0fd97ddd', displayName: 'Dataverse Outbox client library' },
  { name: 'obx_/outbox/outboxmessage.form.js', entry: 'src/entries/outboxmessage.form.ts', id: '398e9a0f-4b2c-4aa1-bba3-a50644893de8', displayName: 'Dataverse Outbox message form script' },
  { name: 'obx_/outbox/commands.js', entry: 'src/entries/commands.ts', id: '86dd5125-3fd9-4266-8a3a-9d0bc5209122', displayName: 'Dataverse Outbox command bar actions' },
] as const;
