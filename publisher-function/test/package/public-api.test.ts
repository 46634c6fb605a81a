// The package's public surface: what hosts and custom adapters need is there; the engine's internals and the test
// hooks are not (tests reach those by relative path, so a refactoring inside the engine breaks no user).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as publicApi from '../../src';
import * as functionsEntry from '../../src/functions/handlers';

const exported = new Set(Object.keys(publicApi));

it('exports the publishers, the hosts built from app settings, the typed errors and the no-op ports', () => {
  const needed = [
    'createPublisher',
    'OutboxPublisher',
    'createPartitionedPublisher',
    'PartitionedPublisher',
    'createChangeTrackingPublisher',
    'ChangeTrackingPublisher',
    'createPublisherFromAppSettings',
    'createChangeTrackingPublisherFromAppSettings',
    'createHostFromAppSettings',
    'runHostProcess',
    'readAppSettings',
    'OutboxError',
    'isOutboxError',
    'ChangeTrackingError',
    'isChangeTrackingError',
    'noMetrics',
    'silentLogger',
    'noChangeTrackingMetrics',
  ];
  expect(needed.filter((n) => !exported.has(n))).toEqual([]);
});

it('does not export the engine internals or the Functions test hook', () => {
  const internals = [
    'KeyBlockers',
    'truncateError',
    'runPublishCycle',
    'runChangeTrackingCycle',
    'LeaseKeeper',
    'HostLoop',
    'planBalance',
    'classifyLease',
    'RefreshingSettings',
    'parseSettings',
    'ServiceBusMessageSender',
    'classifySendError',
    'DataverseDeltaReader',
    'DataverseCheckpointStore',
    'readSettingsFromDataverse',
    'redactSecrets',
    'describeError',
    'functionsConfig',
    'setFunctionsHostConfig',
    'closeHost',
    'closeFunctionsHost',
  ];
  expect(internals.filter((n) => exported.has(n))).toEqual([]);
  expect(Object.keys(functionsEntry).filter((n) => ['functionsConfig', 'setFunctionsHostConfig', 'closeHost', 'getHost'].includes(n))).toEqual([]);
});

it('the package has one entry point besides the Functions main; the test hooks are not one', () => {
  const pkg = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
  expect(Object.keys(pkg.exports)).toEqual(['.']);
});
