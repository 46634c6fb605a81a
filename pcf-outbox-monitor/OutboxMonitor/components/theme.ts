// Colours come from the active Fluent theme (the host's), never hard-coded, so dark and high-contrast themes work.
import { createTheme, type ITheme } from '@fluentui/react';
import type { HealthLevel } from '@dataverse-outbox/contract';
import type { OutboxStatusName } from '../core/status';
import type { HostTheme } from './types';

export function statusColor(theme: ITheme, status: OutboxStatusName | 'unknown'): string {
  const p = theme.palette;
  switch (status) {
    case 'Pending':
      return p.themePrimary;
    case 'Published':
      return p.teal;
    case 'Acked':
      return p.green;
    case 'Failed':
      return p.red;
    case 'DeadLettered':
      return p.magenta;
    case 'Cancelled':
      return p.neutralSecondary;
    case 'unknown':
      return p.orange;
  }
}

export function levelColor(theme: ITheme, level: HealthLevel | undefined): string {
  const p = theme.palette;
  if (level === 'green') return p.green;
  if (level === 'amber') return p.yellowDark;
  if (level === 'red') return p.redDark;
  return p.neutralTertiary;
}

export const levelLabel: Readonly<Record<HealthLevel, string>> = { green: 'Healthy', amber: 'Warning', red: 'Alert' };

/** A Fluent 8 theme from the host's Fluent 9 tokens. */
export function themeFromHost(host: HostTheme): ITheme {
  return createTheme({
    isInverted: host.isDark,
    palette: {
      themePrimary: host.brand,
      themeDarkAlt: host.brandHover,
      themeDark: host.brandPressed,
      neutralPrimary: host.foreground,
      neutralSecondary: host.foregroundSecondary,
      neutralTertiary: host.foregroundDisabled,
      neutralLight: host.stroke,
      neutralLighter: host.backgroundAlt,
      white: host.background,
    },
  });
}
