// The real task and action contracts the pipelines are checked against, taken from the published definitions:
// microsoft/powerplatform-build-tools src/tasks/*/task.json (v2), microsoft/powerplatform-actions */action.yml (v1),
// and the Azure Pipelines task reference (learn.microsoft.com/azure/devops/pipelines/tasks/reference).

export interface Contract {
  inputs: readonly string[];
  required: readonly string[];
}

export const azureDevOpsTasks: Record<string, Contract> = {
  'NodeTool@0': { inputs: ['versionSource', 'versionSpec', 'versionFilePath', 'checkLatest', 'force32bit', 'retryCountOnDownloadFails', 'delayBetweenRetries'], required: [] },
  'PowerPlatformToolInstaller@2': {
    inputs: ['DefaultVersion', 'AddToolsToPath', 'PowerAppsAdminVersion', 'XrmToolingPackageDeploymentVersion', 'MicrosoftPowerAppsCheckerVersion', 'CrmSdkCoreToolsVersion', 'XrmOnlineManagementApiVersion'],
    required: [],
  },
  'PowerPlatformChecker@2': {
    inputs: [
      'authenticationType', 'PowerPlatformEnvironment', 'PowerPlatformSPN', 'UseDefaultPACheckerEndpoint', 'CustomPACheckerEndpoint',
      'FileLocation', 'FilesToAnalyze', 'FilesToAnalyzeSasUri', 'FilesToExclude', 'RulesToOverride', 'RuleSet', 'ErrorLevel',
      'ErrorThreshold', 'FailOnPowerAppsCheckerAnalysisError', 'ArtifactDestinationName', 'SaveResults',
    ],
    required: ['authenticationType', 'RuleSet'],
  },
  'PowerPlatformImportSolution@2': {
    inputs: [
      'authenticationType', 'PowerPlatformEnvironment', 'PowerPlatformSPN', 'Environment', 'SolutionInputFile', 'UseDeploymentSettingsFile',
      'DeploymentSettingsFile', 'AsyncOperation', 'MaxAsyncWaitTime', 'HoldingSolution', 'StageAndUpgrade', 'OverwriteUnmanagedCustomizations',
      'ActivatePlugins', 'SkipProductUpdateDependencies', 'SkipLowerVersion', 'ConvertToManaged', 'PublishCustomizationChanges', 'PublishWorkflows',
    ],
    required: ['authenticationType', 'SolutionInputFile'],
  },
  'AzureCLI@2': {
    inputs: [
      'azureSubscription', 'connectedServiceNameARM', 'scriptType', 'scriptLocation', 'scriptPath', 'inlineScript', 'arguments',
      'powerShellErrorActionPreference', 'addSpnToEnvironment', 'useGlobalConfig', 'workingDirectory', 'failOnStandardError',
      'powerShellIgnoreLASTEXITCODE', 'visibleAzLogin', 'keepAzSessionActive',
    ],
    required: ['azureSubscription', 'scriptType', 'scriptLocation'],
  },
  'AzureFunctionApp@2': {
    inputs: [
      'connectedServiceNameARM', 'azureSubscription', 'appType', 'isFlexConsumption', 'appName', 'deployToSlotOrASE', 'resourceGroupName',
      'slotName', 'package', 'runtimeStack', 'startUpCommand', 'customWebConfig', 'appSettings', 'configurationStrings', 'deploymentMethod',
    ],
    required: ['appType', 'appName', 'package'],
  },
  'PublishPipelineArtifact@1': {
    inputs: ['targetPath', 'path', 'artifact', 'artifactName', 'publishLocation', 'artifactType', 'fileSharePath', 'parallel', 'parallelCount', 'properties'],
    required: ['targetPath'],
  },
};

export const githubActions: Record<string, Contract> = {
  'actions/checkout@v4': { inputs: ['repository', 'ref', 'token', 'fetch-depth', 'path', 'clean', 'lfs', 'submodules', 'persist-credentials'], required: [] },
  'actions/setup-node@v4': { inputs: ['node-version', 'node-version-file', 'cache', 'cache-dependency-path', 'registry-url', 'check-latest'], required: [] },
  'actions/upload-artifact@v4': { inputs: ['name', 'path', 'if-no-files-found', 'retention-days', 'compression-level', 'overwrite', 'include-hidden-files'], required: ['path'] },
  'actions/download-artifact@v4': { inputs: ['name', 'path', 'pattern', 'merge-multiple', 'github-token', 'repository', 'run-id'], required: [] },
  'azure/login@v2': { inputs: ['creds', 'client-id', 'tenant-id', 'subscription-id', 'enable-AzPSSession', 'environment', 'allow-no-subscriptions', 'audience', 'auth-type'], required: [] },
  'microsoft/powerplatform-actions/actions-install@v1': {
    inputs: ['nuget-feed-override', 'nuget-feed-username', 'nuget-feed-password', 'pac-version-override', 'use-preinstalled-pac', 'add-tools-to-path'],
    required: [],
  },
  'microsoft/powerplatform-actions/check-solution@v1': {
    inputs: ['environment-url', 'user-name', 'password-secret', 'app-id', 'client-secret', 'tenant-id', 'cloud', 'path', 'geo', 'rule-level-override', 'checker-logs-artifact-name', 'fail-on-analysis-error'],
    required: ['path'],
  },
  'microsoft/powerplatform-actions/import-solution@v1': {
    inputs: [
      'environment-url', 'user-name', 'password-secret', 'app-id', 'client-secret', 'tenant-id', 'cloud', 'solution-file',
      'use-deployment-settings-file', 'deployment-settings-file', 'activate-plugins', 'force-overwrite', 'skip-dependency-check',
      'import-as-holding', 'stage-and-upgrade', 'publish-changes', 'convert-to-managed', 'run-asynchronously', 'max-async-wait-time', 'working-directory',
    ],
    required: ['environment-url', 'solution-file'],
  },
};
