// Public barrel of the solution workspace: the generated names module and the solution model reader.
export {};
