// Finding pac and az on PATH, and telling people exactly how to install them when they are absent.
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';

export type ToolName = 'pac' | 'az' | 'npm';

export interface ToolInfo {
  name: ToolName;
  purpose: string;
  install: string[];
}

export const tools: Record<ToolName, ToolInfo> = {
  pac: {
    name: 'pac',
    purpose: 'Power Platform CLI: imports the solution into Dataverse',
    install: [
      'Install the Power Platform CLI (needs the .NET 8 SDK or later):',
      '  dotnet tool install --global Microsoft.PowerApps.CLI.Tool',
      'then sign in once to the target environment:',
      '  pac auth create --environment https://<org>.crm.dynamics.com',
      'Windows alternatives: the "Power Platform Tools" Visual Studio Code extension, or the MSI from https://aka.ms/PowerAppsCLI',
    ],
  },
  az: {
    name: 'az',
    purpose: 'Azure CLI: deploys the Azure resources and gets the Dataverse access token',
    install: [
      'Install the Azure CLI (https://learn.microsoft.com/cli/azure/install-azure-cli):',
      '  Debian/Ubuntu: curl -sL https://aka.ms/InstallAzureCLIDeb | sudo bash',
      '  macOS:         brew install azure-cli',
      '  Windows:       winget install --exact --id Microsoft.AzureCLI',
      'then sign in:',
      '  az login',
    ],
  },
  npm: {
    name: 'npm',
    purpose: 'builds and packs the solution',
    install: ['Install Node.js 20 (which includes npm): https://nodejs.org/'],
  },
};

/** Absolute path of an executable found on PATH (honours PATHEXT on Windows), or undefined. */
export function findExecutable(
  name: string,
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): string | undefined {
  const dirs = (env.PATH ?? env.Path ?? '').split(path.delimiter).filter(Boolean);
  const extensions = platform === 'win32' ? (env.PATHEXT ?? '.EXE;.CMD;.BAT;.COM').split(';') : [''];
  for (const dir of dirs) {
    for (const ext of extensions) {
      const candidate = path.join(dir, name + ext);
      try {
        if (!statSync(candidate).isFile()) continue;
        if (platform !== 'win32') accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {
        // not here: keep looking
      }
    }
  }
  return undefined;
}

export interface ToolCheck {
  name: ToolName;
  found: boolean;
  path?: string;
  purpose: string;
  install: string[];
}

export function checkTools(names: readonly ToolName[], env: NodeJS.ProcessEnv = process.env): ToolCheck[] {
  return [...new Set(names)].map((name) => {
    const found = findExecutable(name, env);
    const info = tools[name];
    return found
      ? { name, found: true, path: found, purpose: info.purpose, install: info.install }
      : { name, found: false, purpose: info.purpose, install: info.install };
  });
}

export function describeMissing(checks: readonly ToolCheck[]): string {
  return checks
    .filter((c) => !c.found)
    .map((c) => [`'${c.name}' was not found on PATH (${c.purpose}).`, ...c.install].join('\n'))
    .join('\n\n');
}
