// obx_/outbox/commands.js: Obx.Outbox.Commands, called from the Outbox Message RibbonDiffXml (grid and form).
import { canRunOn, canRunOnAll, operatorActionRules } from '@dataverse-outbox/contract';
import { configure, isEnabledForForm, isEnabledForGrid, runFromForm, runFromGrid } from '../commands/commands';
import { registerOutboxMembers } from '../shared/namespace';

registerOutboxMembers({ isEnabledForGrid, isEnabledForForm, runFromGrid, runFromForm, configure, canRunOn, canRunOnAll, rules: operatorActionRules }, 'Commands');
