// The pac and az commands this repository prints or runs, with the flags each accepts, from Microsoft's references
// (learn.microsoft.com/power-platform/developer/cli/reference, learn.microsoft.com/cli/azure). Neither tool can be
// installed here, so docs and plans are checked against this list; keep it to what the references document.

export const externalCommands: Record<string, readonly string[]> = {
  'pac auth create': ['--environment', '--name', '--applicationId', '--clientSecret', '--tenant', '--deviceCode', '--cloud'],
  'pac auth list': [],
  'pac solution import': [
    '--path', '--environment', '--settings-file', '--async', '--max-async-wait-time', '--activate-plugins', '--force-overwrite',
    '--stage-and-upgrade', '--publish-changes', '--import-as-holding', '--skip-dependency-check', '--convert-to-managed', '--skip-lower-version',
  ],
  'pac solution create-settings': ['--solution-zip', '--solution-folder', '--settings-file'],
  'pac admin assign-user': ['--environment', '--user', '--role', '--application-user', '--business-unit'],
  'az login': ['--tenant', '--use-device-code', '--allow-no-subscriptions'],
  'az account set': ['--subscription'],
  'az account get-access-token': ['--resource', '--query', '--output'],
  'az group create': ['--name', '--location', '--tags'],
  'az deployment group create': ['--resource-group', '--name', '--template-file', '--parameters', '--output', '--mode'],
  'az deployment group what-if': ['--resource-group', '--name', '--template-file', '--parameters'],
  'az deployment group show': ['--resource-group', '--name', '--query', '--output'],
  'az ad sp show': ['--id', '--query', '--output'],
  'az functionapp config appsettings list': ['--resource-group', '--name', '--query', '--output'],
  'az functionapp config appsettings set': ['--resource-group', '--name', '--settings', '--output'],
  'az functionapp deployment source config-zip': ['--resource-group', '--name', '--src', '--build-remote', '--timeout'],
};

/** Other installers a doc may show verbatim. */
export const otherCommands = ['dotnet tool install --global Microsoft.PowerApps.CLI.Tool'];

/** Problems with one pac/az command line (already split into words). */
export function externalCommandProblems(words: readonly string[]): string[] {
  const key = Object.keys(externalCommands)
    .filter((k) => k.split(' ').every((w, i) => words[i] === w))
    .sort((a, b) => b.length - a.length)[0];
  if (!key) return [`unknown command: ${words.slice(0, 4).join(' ')}`];
  const allowed = externalCommands[key] as readonly string[];
  return words.filter((w) => w.startsWith('--') && !allowed.includes(w)).map((w) => `${key}: unknown flag ${w}`);
}

/** Splits a shell line into words, honouring single and double quotes. */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  for (const m of line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)) words.push(m[1] ?? m[2] ?? (m[3] as string));
  return words;
}
