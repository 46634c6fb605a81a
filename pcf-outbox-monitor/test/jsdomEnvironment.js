// jsdom without fetch's Response: the page fakes (test/fakeContext.ts, the hostile monitor test) answer the control's
// Web API calls with real Response objects, as a browser's fetch does, so the one Web API client reads them as it reads
// Dataverse's (text(), headers). Node 20's own Response and Headers are lent to the jsdom window for that.
const { TestEnvironment } = require('jest-environment-jsdom');

class JsdomWithResponse extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    this.global.Response = Response;
    this.global.Headers = Headers;
  }
}

module.exports = JsdomWithResponse;
