// The solution as data: what `readSolutionModel()` returns after reading solution/src (Entity.xml, OptionSets,
// environment variable definitions, roles). The Dataverse emulator builds its tables from this, the names generator
// writes generated/names.ts from it, and the packer validates against it.

export type ColumnType =
  | 'uniqueidentifier' // primary key
  | 'string' // nvarchar (Format text/email/url/textarea)
  | 'memo' // ntext (multi-line)
  | 'integer'
  | 'bigint'
  | 'decimal'
  | 'money'
  | 'boolean'
  | 'datetime'
  | 'picklist' // choice (global or local option set)
  | 'state'
  | 'status'
  | 'lookup'
  | 'owner'
  | 'autonumber'; // nvarchar with an AutoNumberFormat

export interface ColumnModel {
  logicalName: string;
  schemaName: string;
  displayName: string;
  type: ColumnType;
  /** Characters, for string/memo/autonumber columns. */
  maxLength?: number;
  /** ApplicationRequired in the solution (system columns are never required of callers). */
  required: boolean;
  /** For picklist columns: the option set's name and values; default value when the column declares one. */
  optionSetName?: string;
  options?: readonly number[];
  defaultValue?: number | string | boolean;
  /** For whole-number columns: the smallest and largest value Dataverse accepts (`<MinValue>` / `<MaxValue>`). */
  minValue?: number;
  maxValue?: number;
  /** For autonumber columns, e.g. `{SEQNUM:10}`. */
  autoNumberFormat?: string;
  /** Lookup targets (logical names of the referenced tables). */
  targets?: readonly string[];
  /** True for columns Dataverse maintains itself (createdon, modifiedon, versionnumber, ...). */
  isSystem: boolean;
  /** Column security is on (`<IsSecured>1`): only members of a field security profile that grants it may read, set or change it. */
  isSecured?: true;
  description: string;
}

export interface AlternateKeyModel {
  logicalName: string;
  schemaName: string;
  columns: readonly string[];
}

export interface TableModel {
  logicalName: string;
  schemaName: string;
  entitySetName: string;
  displayName: string;
  primaryIdAttribute: string;
  primaryNameAttribute: string;
  ownership: 'OrganizationOwned' | 'UserOwned';
  changeTrackingEnabled: boolean;
  columns: readonly ColumnModel[];
  alternateKeys: readonly AlternateKeyModel[];
  /** System views (saved queries) of the table, e.g. for an emulator's `savedqueries` endpoint. */
  views: readonly ViewModel[];
  description: string;
}

export interface ViewModel {
  /** savedqueryid, lower case without braces. */
  id: string;
  name: string;
  /** 0 public, 1 advanced find, 2 associated, 4 quick find, 64 lookup. */
  queryType: number;
  isDefault: boolean;
  fetchXml: string;
  /** Columns shown by the view, in order (layoutxml cells). */
  layoutColumns: readonly string[];
}

export interface OptionSetModel {
  name: string;
  displayName: string;
  options: readonly { value: number; label: string }[];
}

export interface EnvironmentVariableModel {
  schemaName: string;
  displayName: string;
  description: string;
  type: 'String' | 'Number' | 'Boolean' | 'JSON' | 'Secret' | 'DataSource';
  defaultValue: string;
  isRequired: boolean;
  /** The env var of the publisher's own settings that overrides this setting locally (spec: OUTBOX_<SETTING>). */
  appSetting: string;
}

export interface SolutionModel {
  uniqueName: string;
  displayName: string;
  version: string;
  publisher: { uniqueName: string; customizationPrefix: string; optionValuePrefix: number };
  tables: readonly TableModel[];
  optionSets: readonly OptionSetModel[];
  environmentVariables: readonly EnvironmentVariableModel[];
  roles: readonly RoleModel[];
  fieldSecurityProfiles: readonly FieldSecurityProfileModel[];
}

/** What one field security profile (column security profile) lets its member users and teams do with one secured column. */
export interface FieldPermissionModel {
  /** Table logical name. */
  table: string;
  /** Column logical name. */
  column: string;
  read: boolean;
  update: boolean;
  create: boolean;
}

export interface FieldSecurityProfileModel {
  /** Profile id, lower case without braces. */
  id: string;
  name: string;
  permissions: readonly FieldPermissionModel[];
}

export interface RoleModel {
  /** Role id, lower case without braces. */
  id: string;
  name: string;
  privileges: readonly { name: string; level: string }[];
}
