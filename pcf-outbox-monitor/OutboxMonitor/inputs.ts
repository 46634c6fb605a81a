// The control's inputs, written by hand to match ControlManifest.Input.xml (test/manifest.test.ts checks they agree).
// pcf-scripts also generates generated/ManifestTypes.d.ts during its build, but tests and type checks run before any
// build, so the sources never depend on a generated file.

export const manifestNames = { dataSet: 'records', pageSize: 'pageSize' } as const;

export interface IInputs {
  records: ComponentFramework.PropertyTypes.DataSet;
  pageSize: ComponentFramework.PropertyTypes.WholeNumberProperty;
}

/** The monitor has no outputs: it changes rows through context.webAPI, never through bound properties. */
export type IOutputs = Record<string, never>;
