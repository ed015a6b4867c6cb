/** Where pipeline replies are read (the store); re-exported for callers not yet importing it. */
export { pipelineValues } from './store/replies';
