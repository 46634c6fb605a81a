// One error factory for the whole emulator: every wire error Dataverse returns has one method here, so codes, statuses
// and messages stay identical wherever they are raised. Handlers, the store and the query translators throw these; the
// pipeline's error stage writes them as {"error":{"code","message"}} (Dataverse's OData error shape).
//
// Codes and messages follow Microsoft Learn:
// - "Web API error codes" / "Dataverse error codes" (0x80040217 ObjectDoesNotExist, 0x80040237 DuplicateRecord,
//   0x80060882 ConcurrencyVersionMismatch, 0x8004431A PicklistValueOutOfRange, 0x80044331 StringLengthTooLong,
//   0x8004432F IntegerValueOutOfRange,
//   0x80048d19 payload errors, 0x80060888 query/URL errors, 0x80044352 ExpiredVersionStamp, 0x8004E023 aggregate limit)
// - "Service protection API limits" (0x80072322 requests, 0x80072321 execution time, 0x80072326 concurrency).

import { describeValue } from '@dataverse-outbox/contract';

export type DataverseErrorCode =
  | '0x80040217'
  | '0x80040237'
  | '0x80060882'
  | '0x80060888'
  | '0x80048d19'
  | '0x8004431A'
  | '0x80044331'
  | '0x8004432F'
  | '0x80040203'
  | '0x80044352'
  | '0x8004E023'
  | '0x80072322'
  | '0x80072321'
  | '0x80072326'
  | '0x8005F103'
  | '0x80040216'
  | '0x80048306'
  | '0x8006088A'
  | '0x80041103'
  | '0x80041102'
  | '0x80040220';

export class DataverseError extends Error {
  override readonly name = 'DataverseError';
  constructor(
    readonly status: number,
    readonly code: DataverseErrorCode,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }

  toBody(): { error: { code: string; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

export function isDataverseError(e: unknown): e is DataverseError {
  return e instanceof DataverseError;
}

const PAYLOAD_HELP = 'For more information on this error please follow this help link https://go.microsoft.com/fwlink/?linkid=2195293';

export const DataverseErrors = {
  recordNotFound(logicalName: string, id: string): DataverseError {
    return new DataverseError(404, '0x80040217', `${logicalName} With Id = ${id} Does Not Exist`);
  },
  recordNotFoundByKey(logicalName: string): DataverseError {
    return new DataverseError(404, '0x80040217', `A record with the specified key values does not exist in ${logicalName} entity`);
  },
  duplicateKey(keyName: string, values: readonly unknown[]): DataverseError {
    return new DataverseError(
      412,
      '0x80040237',
      `A record that has the attribute values ${values.map(String).join(', ')} already exists. The entity key ${keyName} requires that this set of attributes contains unique values. Select unique values and try again.`,
    );
  },
  duplicateRecord(): DataverseError {
    return new DataverseError(412, '0x80040237', 'A record with matching key values already exists.');
  },
  duplicatePrimaryKey(): DataverseError {
    return new DataverseError(412, '0x80040237', 'Cannot insert duplicate key.');
  },
  versionMismatch(): DataverseError {
    return new DataverseError(412, '0x80060882', "The version of the existing record doesn't match the RowVersion property provided.");
  },
  resourceNotFound(segment: string): DataverseError {
    return new DataverseError(404, '0x80060888', `Resource not found for the segment '${segment}'.`);
  },
  propertyNotFound(property: string, logicalName: string): DataverseError {
    return new DataverseError(400, '0x80060888', `Could not find a property named '${property}' on type 'Microsoft.Dynamics.CRM.${logicalName}'.`);
  },
  querySyntax(position: number, text: string): DataverseError {
    return new DataverseError(400, '0x80060888', `Syntax error at position ${position} in '${text}'.`);
  },
  queryOption(message: string): DataverseError {
    return new DataverseError(400, '0x80060888', message);
  },
  incompatibleOperands(left: string, right: string, operatorKind: string): DataverseError {
    return new DataverseError(
      400,
      '0x80060888',
      `A binary operator with incompatible types was detected. Found operand types '${left}' and '${right}' for operator kind '${operatorKind}'.`,
    );
  },
  /** A %-escape that is not valid UTF-8 (`%zz`, a cut multi-byte sequence): ASP.NET refuses it before OData sees it. */
  badPercentEncoding(text: string): DataverseError {
    return new DataverseError(400, '0x80060888', `Bad Request - The URL path ${describeValue(text)} contains an invalid percent-encoded sequence.`);
  },
  /** OData's URI parser limit (ODataUriParserSettings.MaximumExpressionDepth); the emulator's bound is lower. */
  queryTooDeep(option: string, maxDepth: number): DataverseError {
    return new DataverseError(400, '0x80060888', `The recursion limit has been exceeded: the ${option} expression is nested more than ${maxDepth} levels deep.`);
  },
  /**
   * A request from a foreign Host (DNS rebinding) or a cross-site page: a real environment answers only its own host
   * name and enables CORS for no arbitrary origin. 403 with the code Dataverse pairs with 403 (PrivilegeDenied).
   */
  foreignRequest(reason: string): DataverseError {
    return new DataverseError(403, '0x80040220', reason);
  },
  notSupported(what: string): DataverseError {
    return new DataverseError(400, '0x80060888', `${what} is not supported.`);
  },
  methodNotAllowed(method: string, path: string): DataverseError {
    return new DataverseError(405, '0x80060888', `The HTTP method '${method}' is not allowed for '${path}'.`);
  },
  payload(logicalName: string, inner: string): DataverseError {
    return new DataverseError(
      400,
      '0x80048d19',
      `Error identified in Payload provided by the user for Entity :'${logicalName}', ${PAYLOAD_HELP}  ----> InnerException : Microsoft.OData.ODataException: ${inner}`,
    );
  },
  malformedJson(logicalName: string, detail: string): DataverseError {
    return DataverseErrors.payload(logicalName, `Invalid JSON. ${detail}`);
  },
  undeclaredProperty(property: string, logicalName: string): DataverseError {
    return DataverseErrors.payload(
      logicalName,
      `The property '${property}' does not exist on type 'Microsoft.Dynamics.CRM.${logicalName}'. Make sure to only use property names that are defined by the type or mark the type as open type.`,
    );
  },
  cannotConvert(logicalName: string, literal: unknown, edmType: string): DataverseError {
    const text = typeof literal === 'string' ? literal : JSON.stringify(literal);
    return DataverseErrors.payload(logicalName, `Cannot convert the literal '${text}' to the expected type '${edmType}'.`);
  },
  stringTooLong(column: string, logicalName: string, maxLength: number): DataverseError {
    return new DataverseError(
      400,
      '0x80044331',
      `A validation error occurred. The length of the '${column}' attribute of the '${logicalName}' entity exceeded the maximum allowed length of '${maxLength}'.`,
    );
  },
  picklistOutOfRange(value: number, column: string, logicalName: string, options: readonly number[]): DataverseError {
    return new DataverseError(
      400,
      '0x8004431A',
      `A validation error occurred. The value ${value} of '${column}' on record of type '${logicalName}' is outside the valid range. Accepted Values: ${options.join(',')}`,
    );
  },
  /** A whole number outside its column's MinValue..MaxValue (the documented IntegerValueOutOfRange; it names neither). */
  integerOutOfRange(): DataverseError {
    return new DataverseError(400, '0x8004432F', 'A validation error occurred. An integer provided is outside of the allowed values for this attribute.');
  },
  /** Emulator-only check (Dataverse enforces only SystemRequired columns at the API; see docs/emulator-dataverse.md). */
  requiredColumnMissing(column: string, logicalName: string): DataverseError {
    return new DataverseError(400, '0x80040203', `The column '${column}' of '${logicalName}' is required and cannot be null.`);
  },
  invalidArgument(message: string): DataverseError {
    return new DataverseError(400, '0x80040203', message);
  },
  changeTrackingNotEnabled(logicalName: string): DataverseError {
    return new DataverseError(400, '0x80040203', `Entity '${logicalName}' is not enabled for change tracking.`);
  },
  expiredVersionStamp(): DataverseError {
    return new DataverseError(400, '0x80044352', 'Version stamp associated with the client has expired. Please perform a full sync.');
  },
  fetchNoAttribute(logicalName: string, attribute: string): DataverseError {
    return new DataverseError(400, '0x80041103', `'${logicalName}' entity doesn't contain attribute with Name = '${attribute}' and NameMapping = 'Logical'.`);
  },
  invalidFetchXml(detail: string): DataverseError {
    return new DataverseError(400, '0x80041102', `The FetchXML is not valid: ${detail}`);
  },
  aggregateQueryRecordLimit(): DataverseError {
    return new DataverseError(400, '0x8004E023', 'AggregateQueryRecordLimit exceeded. Cannot perform this operation.');
  },
  batchTooLarge(max: number): DataverseError {
    return new DataverseError(400, '0x8006088A', `The number of requests in the batch exceeds the maximum of ${max}.`);
  },
  malformedBatch(detail: string): DataverseError {
    return new DataverseError(400, '0x80048d19', `Error identified in Payload provided by the user for Entity :'', ${PAYLOAD_HELP}  ----> InnerException : Microsoft.OData.ODataException: ${detail}`);
  },
  payloadTooLarge(maxBytes: number): DataverseError {
    return new DataverseError(413, '0x80048d19', `The request body exceeds the maximum allowed size of ${maxBytes} bytes.`);
  },
  tooManyRequests(limit: number, windowSeconds: number, retryAfterSeconds: number): DataverseError {
    return new DataverseError(429, '0x80072322', `Number of requests exceeded the limit of ${limit} over time window of ${windowSeconds} seconds.`, {
      'Retry-After': String(retryAfterSeconds),
    });
  },
  executionTimeExceeded(limitMs: number, windowSeconds: number, retryAfterSeconds: number): DataverseError {
    return new DataverseError(
      429,
      '0x80072321',
      `Combined execution time of incoming requests exceeded limit of ${limitMs.toLocaleString('en-US')} milliseconds over time window of ${windowSeconds} seconds. Decrease number of concurrent requests or reduce the duration of requests and try again later.`,
      { 'Retry-After': String(retryAfterSeconds) },
    );
  },
  tooManyConcurrentRequests(limit: number, retryAfterSeconds: number): DataverseError {
    return new DataverseError(429, '0x80072326', `Number of concurrent requests exceeded the limit of ${limit}.`, {
      'Retry-After': String(retryAfterSeconds),
    });
  },
  serviceUnavailable(): DataverseError {
    return new DataverseError(503, '0x8005F103', 'The service is temporarily unavailable. Try again later.');
  },
  internal(detail: string): DataverseError {
    return new DataverseError(500, '0x80040216', `An unexpected error occurred. ${detail}`);
  },
} as const;
