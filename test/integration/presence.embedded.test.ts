import { presenceSuite } from './presence.suite.js';

presenceSuite('embedded');
