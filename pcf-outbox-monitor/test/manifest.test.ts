// The hand-written inputs (OutboxMonitor/inputs.ts) must match ControlManifest.Input.xml, which pcf-scripts compiles.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { manifestNames } from '../OutboxMonitor/inputs';

const xml = readFileSync(path.resolve(__dirname, '..', 'OutboxMonitor', 'ControlManifest.Input.xml'), 'utf8');
const doc = new DOMParser().parseFromString(xml, 'application/xml');
const control = doc.querySelector('manifest > control');

it('is a virtual Obx.OutboxMonitor control', () => {
  expect(doc.querySelector('parsererror')).toBeNull();
  expect(control?.getAttribute('namespace')).toBe('Obx');
  expect(control?.getAttribute('constructor')).toBe('OutboxMonitor');
  expect(control?.getAttribute('control-type')).toBe('virtual');
});

it('declares the data set and properties inputs.ts types', () => {
  expect([...doc.querySelectorAll('control > data-set')].map((e) => e.getAttribute('name'))).toEqual([manifestNames.dataSet]);
  expect([...doc.querySelectorAll('control > property')].map((e) => e.getAttribute('name'))).toEqual([manifestNames.pageSize]);
});

it('uses React 16.14.0 and Fluent 8.29.0 from the platform and the WebAPI feature', () => {
  const libraries = [...doc.querySelectorAll('resources > platform-library')].map((e) => `${e.getAttribute('name')}@${e.getAttribute('version')}`);
  expect(libraries).toEqual(['React@16.14.0', 'Fluent@8.29.0']);
  expect(doc.querySelector('feature-usage > uses-feature[name="WebAPI"]')?.getAttribute('required')).toBe('true');
});
