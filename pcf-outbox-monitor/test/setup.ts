// Jest setup for the jsdom project: Fluent's icon font is provided by the host at run time, so silence the
// "icon not registered" warnings instead of loading fonts from a CDN.
import { setIconOptions } from '@fluentui/react';

setIconOptions({ disableWarnings: true });
