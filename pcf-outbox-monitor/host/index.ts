// Public barrel of the monitor's host page (`@dataverse-outbox/pcf-outbox-monitor`): serve the production control
// with a live PCF context over a Dataverse Web API (the emulator locally).
export { startMonitorHost, defaultBundleDir, platformGlobals } from './server';
export type { MonitorHost, MonitorHostOptions } from './server';
