import { pingOrderSuite } from './ping-order.suite.js';

pingOrderSuite('relay');
