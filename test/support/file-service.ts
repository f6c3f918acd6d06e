import type { TestFn } from 'ava';
import { startBackend, type BackendName, type TestBackend } from './backends.js';
import { startService, type ServiceProcess } from './service.js';

/** A private backend and one service process shared by a test file's tests. */
export interface FileService {
  backend: TestBackend;
  service: ServiceProcess;
}

/**
 * Registers `test.before` / `test.after.always` that start a backend and a service for the whole
 * file and stop them; the returned object is filled in before the first test runs.
 */
export function serviceForFile(test: TestFn, env: Record<string, string> = {}, backendName: BackendName = 'redis'): FileService {
  const shared = {} as FileService;
  test.before(async () => {
    shared.backend = await startBackend(backendName);
    shared.service = await startService({ REDIS: shared.backend.redis, ...env });
  });
  test.after.always(async () => {
    await shared.service?.stop();
    await shared.backend?.close();
  });
  return shared;
}
