import { presenceSuite } from './presence.suite.js';

presenceSuite('cluster');
