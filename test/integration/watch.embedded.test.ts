import { watchSuite } from './watch.suite.js';

// The embedded store, relayed to two worker threads (each with its own contact cache).
watchSuite({ store: 'embedded', workers: [2] });
