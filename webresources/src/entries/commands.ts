// obx_/outbox/commands.js: Obx.Outbox.Commands, called from the Outbox Message RibbonDiffXml (grid and form).
import { configure, isEnabledForForm, isEnabledForGrid, runFromForm, runFromGrid } from '../commands/commands';
import { registerOutboxMembers } from '../shared/namespace';
import { canRunOn, canRunOnAll, OutboxCommandRules } from '../status-rules';

registerOutboxMembers({ isEnabledForGrid, isEnabledForForm, runFromGrid, runFromForm, configure, canRunOn, canRunOnAll, rules: OutboxCommandRules }, 'Commands');
