// Public barrel of the monitor's dev host (`@dataverse-outbox/pcf-outbox-monitor/host`; the package's main export is
// the control itself): serve the production control with a live PCF context over a Dataverse Web API (the emulator locally).
export { startMonitorHost, defaultBundleDir, platformGlobals } from './server';
export type { MonitorHost, MonitorHostOptions } from './server';
