// Connection and authentication through uamqp (the AMQP library under azure-servicebus 7.8) and the SDK itself:
// SASL PLAIN checked against the emulator's SAS key, and the SDK's MSSBCBS + CBS put-token (sent without reply-to).
import { describeWithPython, observed, startPythonHarness, type CaseResults, type PythonHarness } from './support';

describeWithPython('Service Bus emulator through uamqp and the Python SDK: SASL and CBS over TLS', () => {
  let harness: PythonHarness;
  let results: CaseResults;

  beforeAll(async () => {
    harness = await startPythonHarness({ queues: [{ name: 'plain-auth' }] });
    results = await harness.run('auth_cases.py');
  }, 120_000);
  afterAll(async () => harness?.close());

  it('SASL PLAIN with the namespace key name and key is admitted and the message arrives', () => {
    expect(observed(results, 'saslPlainWithTheNamespaceKey')).toEqual({ outcomes: ['MessageState.SendComplete'], received: ['sent over SASL PLAIN'] });
  });

  it('SASL PLAIN with a wrong key, or a wrong key name, is refused and nothing arrives', () => {
    expect(observed(results, 'saslPlainWrongKeyRefused')).toEqual({ refusals: ['ConnectionClose', 'ConnectionClose'], received: [] });
  });

  it('the SDK connects with SASL MSSBCBS and is answered its CBS put-token without reply-to', () => {
    expect(observed(results, 'sdkOverMssbcbsAndCbs')).toEqual({ received: ['sent by the SDK'] });
  });
});
