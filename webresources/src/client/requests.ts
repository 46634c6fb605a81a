// Request objects for Xrm.WebApi.online.execute / executeMultiple. Shapes follow Microsoft's client API reference:
// getMetadata() lives on the prototype; CRUD requests use operationType 2 and boundParameter undefined;
// Create carries {etn, payload}, Update {etn, id, payload}, Delete {entityReference: {entityType, id}}.
export type CrudOperationName = 'Create' | 'Update' | 'Delete';

export interface CrudRequestMetadata {
  boundParameter: undefined;
  operationName: CrudOperationName;
  /** 0 action, 1 function, 2 CRUD. */
  operationType: 2;
  parameterTypes: Record<string, never>;
}

export type JsonRecord = Record<string, unknown>;

function crudMetadata(operationName: CrudOperationName): CrudRequestMetadata {
  return { boundParameter: undefined, operationName, operationType: 2, parameterTypes: {} };
}

export class CreateRequest {
  constructor(
    readonly etn: string,
    readonly payload: JsonRecord,
  ) {}
  getMetadata(): CrudRequestMetadata {
    return crudMetadata('Create');
  }
}

export class UpdateRequest {
  constructor(
    readonly etn: string,
    readonly id: string,
    readonly payload: JsonRecord,
  ) {}
  getMetadata(): CrudRequestMetadata {
    return crudMetadata('Update');
  }
}

export class DeleteRequest {
  readonly entityReference: { entityType: string; id: string };
  constructor(entityType: string, id: string) {
    this.entityReference = { entityType, id };
  }
  getMetadata(): CrudRequestMetadata {
    return crudMetadata('Delete');
  }
}

export type CrudRequest = CreateRequest | UpdateRequest | DeleteRequest;

/** The slice of Xrm.WebApi.online that commitWithOutbox needs: an array whose nested arrays are change sets. */
export interface ExecuteMultipleApi {
  executeMultiple(requests: Array<CrudRequest | CrudRequest[]>): PromiseLike<unknown>;
}

/** Any object the client API accepts as a CRUD request (ours or a maker's own), read by shape, not by class. */
export interface CrudRequestLike {
  getMetadata(): { operationName?: string; operationType?: number; boundParameter?: string | null };
  etn?: string;
  id?: string;
  payload?: JsonRecord;
  entityReference?: { entityType: string; id: string };
}

/** Operation, table and id of a CRUD request (for error messages and adapters). */
export function describeRequest(request: CrudRequestLike): { operation: string; entity: string; id: string | undefined } {
  const operation = request.getMetadata().operationName ?? 'unknown';
  if (request.entityReference) return { operation, entity: request.entityReference.entityType, id: request.entityReference.id };
  return { operation, entity: request.etn ?? 'unknown', id: request.id };
}
