import type { TestFn } from 'ava';
import { startStore, type StoreName, type TestStore } from './stores.js';
import { startService, type ServiceProcess } from './service.js';

/** A private store and one service process shared by a test file's tests. */
export interface FileService {
  store: TestStore;
  service: ServiceProcess;
}

/**
 * Registers `test.before` / `test.after.always` that start a store and a service for the whole
 * file and stop them; the returned object is filled in before the first test runs.
 */
export function serviceForFile(test: TestFn, env: Record<string, string> = {}, storeName: StoreName = 'redis'): FileService {
  const shared = {} as FileService;
  test.before(async () => {
    shared.store = await startStore(storeName);
    shared.service = await startService({ REDIS: shared.store.redis, ...env });
  });
  test.after.always(async () => {
    await shared.service?.stop();
    await shared.store?.close();
  });
  return shared;
}
