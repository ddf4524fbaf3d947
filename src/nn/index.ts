export * from './layers';
export { Module, Parameter } from './module';
export type { LoadResult } from './module';
export * as functional from './functional';
export * as init from './init';
