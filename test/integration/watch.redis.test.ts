import { watchSuite } from './watch.suite.js';

// Two instances over one Redis, the second with two worker threads.
watchSuite({ store: 'redis', workers: [1, 2] });
