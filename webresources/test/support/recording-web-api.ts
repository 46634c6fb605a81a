// Records what commitWithOutbox hands to executeMultiple. Used only to prove that bad input never reaches the server
// and to inspect the change set shape; the real round trip is covered against the Dataverse emulator.
import type { CrudRequest, ExecuteMultipleApi } from '../../src/client/requests';

export class RecordingWebApi implements ExecuteMultipleApi {
  readonly calls: Array<Array<CrudRequest | CrudRequest[]>> = [];
  constructor(private readonly outcome: (requests: Array<CrudRequest | CrudRequest[]>) => Promise<unknown> = async () => []) {}
  executeMultiple(requests: Array<CrudRequest | CrudRequest[]>): Promise<unknown> {
    this.calls.push(requests);
    return this.outcome(requests);
  }
}
