// Public barrel of the pipelines workspace: the deployment tool behind `npm run deploy`.
export * from './deploy/index';
export { packageFunction, functionPackagePaths, type PackageFunctionResult } from './package-function/packageFunction';
