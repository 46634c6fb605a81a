// Azure Functions entry point (package.json "main"): registers the outbox functions with the v4 programming model.
import { app } from '@azure/functions';
import { acknowledgements, canaryResponder, canaryTimer, deadLetterMonitor, health, publishTimer } from './handlers';

app.setup({ enableHttpStream: false });
app.timer('outboxPublish', publishTimer);
app.serviceBusQueue('outboxAcknowledgements', acknowledgements);
app.timer('outboxDeadLetterMonitor', deadLetterMonitor);
app.http('outboxHealth', health);
app.timer('outboxCanary', canaryTimer);
app.serviceBusQueue('outboxCanaryResponder', canaryResponder);
