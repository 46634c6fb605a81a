// obx_/outbox/client.js: Obx.Outbox.commitWithOutbox and friends, for makers' own form and command scripts.
import { commitWithOutbox, planCommit, DefaultContentType, MaxRequestsPerChangeSet } from '../client/commit';
import { isOutboxCommitError, isOutboxRowError, OutboxCommitError, OutboxRowError } from '../client/errors';
import { formSnapshot, outboxMessageFromForm } from '../client/from-form';
import { CreateRequest, DeleteRequest, UpdateRequest } from '../client/requests';
import { registerOutboxMembers } from '../shared/namespace';

registerOutboxMembers({
  commitWithOutbox,
  planCommit,
  outboxMessageFromForm,
  formSnapshot,
  OutboxCommitError,
  isOutboxCommitError,
  OutboxRowError,
  isOutboxRowError,
  CreateRequest,
  UpdateRequest,
  DeleteRequest,
  DefaultContentType,
  MaxRequestsPerChangeSet,
});
