// Public barrel of the contract: the one definition of every rule the product's parts share. Nothing here may import
// Node, Azure or DOM APIs (tsconfig.json has no types for them), so web resources, the PCF control and Node hosts all use it.
export * from './generated/names';
export * from './identifiers';
export * from './statusMachine';
export * from './operatorActions';
export * from './acknowledgement';
export * from './health';
export * from './jsonCheck';
export * from './jsonValues';
export * from './contentType';
export * from './outboxRow';
export * from './scheduling';
export * from './traceContext';
export * from './partitions';
export * from './messageFormats';
export * from './canary';
