// `node --import <this file> <component>`: the stack loads it into the publisher and the consumer before their own code,
// as OpenTelemetry's Node set-up is loaded (an --import module), so their spans are recorded without a line of their
// own code changing. Does nothing unless OUTBOX_TRACES_FILE is set.
import { registerTraceRecorder } from './recorder';
import { TRACES_FILE_SETTING } from './settings';

const file = process.env[TRACES_FILE_SETTING];
if (file) registerTraceRecorder({ file, serviceName: process.env.OTEL_SERVICE_NAME || 'outbox-component' });
