// obx_/outbox/outboxmessage.form.js: Obx.Outbox.Form.onLoad (registered on the Outbox Message main form).
import { apply, onLoad } from '../form/outboxmessage-form';
import { registerOutboxMembers } from '../shared/namespace';

registerOutboxMembers({ onLoad, apply }, 'Form');
