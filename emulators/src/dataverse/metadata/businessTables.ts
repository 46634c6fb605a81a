// A few business tables so realistic producers (the demo's "opportunity won" flow) have something to change in the same
// change set as their outbox row. Common columns only.
import { col, defineEntity, type EntityDef } from './model';

export const OPPORTUNITY_STATE = { Open: 0, Won: 1, Lost: 2 } as const;
export const OPPORTUNITY_STATUS = { InProgress: 1, OnHold: 2, Won: 3, Canceled: 4, OutSold: 5 } as const;

export function businessTables(): EntityDef[] {
  return [
    defineEntity({
      logicalName: 'account',
      entitySetName: 'accounts',
      primaryNameAttribute: 'name',
      changeTrackingEnabled: true,
      attributes: [
        col('name', 'string', { maxLength: 160 }),
        col('accountnumber', 'string', { maxLength: 20 }),
        col('telephone1', 'string', { maxLength: 50 }),
        col('emailaddress1', 'string', { maxLength: 100 }),
        col('websiteurl', 'string', { maxLength: 200 }),
        col('address1_city', 'string', { maxLength: 80 }),
        col('address1_country', 'string', { maxLength: 80 }),
        col('description', 'memo', { maxLength: 2000 }),
        col('revenue', 'money'),
        col('numberofemployees', 'integer'),
        col('creditonhold', 'boolean', { defaultValue: false }),
        col('industrycode', 'picklist', {
          optionLabels: { 1: 'Accounting', 2: 'Agriculture', 3: 'Broadcasting', 6: 'Consulting', 7: 'Consumer Services', 25: 'Retail' },
        }),
        col('parentaccountid', 'lookup', { target: 'account' }),
        col('primarycontactid', 'lookup', { target: 'contact' }),
      ],
      oneToMany: [
        { name: 'contact_customer_accounts', referencingEntity: 'contact', referencingAttribute: 'parentcustomerid' },
        { name: 'opportunity_parent_account', referencingEntity: 'opportunity', referencingAttribute: 'parentaccountid' },
        { name: 'account_parent_account', referencingEntity: 'account', referencingAttribute: 'parentaccountid' },
      ],
      indexes: [['name'], ['parentaccountid']],
    }),
    defineEntity({
      logicalName: 'contact',
      entitySetName: 'contacts',
      primaryNameAttribute: 'fullname',
      changeTrackingEnabled: true,
      attributes: [
        col('firstname', 'string', { maxLength: 50 }),
        col('lastname', 'string', { maxLength: 50 }),
        col('fullname', 'string', { maxLength: 160, readOnly: true }),
        col('emailaddress1', 'string', { maxLength: 100 }),
        col('telephone1', 'string', { maxLength: 50 }),
        col('jobtitle', 'string', { maxLength: 100 }),
        col('birthdate', 'datetime'),
        col('parentcustomerid', 'lookup', { target: 'account', navigationProperty: 'parentcustomerid_account' }),
      ],
      indexes: [['parentcustomerid'], ['emailaddress1']],
    }),
    defineEntity({
      logicalName: 'opportunity',
      entitySetName: 'opportunities',
      primaryNameAttribute: 'name',
      changeTrackingEnabled: true,
      attributes: [
        col('name', 'string', { maxLength: 300 }),
        col('description', 'memo', { maxLength: 2000 }),
        col('estimatedvalue', 'money'),
        col('estimatedclosedate', 'datetime'),
        col('actualvalue', 'money'),
        col('actualclosedate', 'datetime'),
        col('closeprobability', 'integer'),
        col('parentaccountid', 'lookup', { target: 'account' }),
        col('parentcontactid', 'lookup', { target: 'contact' }),
        col('statecode', 'state', { optionLabels: { 0: 'Open', 1: 'Won', 2: 'Lost' }, defaultValue: 0 }),
        col('statuscode', 'status', {
          optionLabels: { 1: 'In Progress', 2: 'On Hold', 3: 'Won', 4: 'Canceled', 5: 'Out-Sold' },
          defaultValue: 1,
        }),
      ],
      indexes: [['parentaccountid'], ['statecode']],
    }),
  ];
}
