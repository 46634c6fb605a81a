// The app setting that turns span recording on in a component: the file its spans go to (stack/src/tracing/preload.ts).
export const TRACES_FILE_SETTING = 'OUTBOX_TRACES_FILE';
