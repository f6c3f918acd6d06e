import { pingOrderSuite } from './ping-order.suite.js';

pingOrderSuite('cluster');
