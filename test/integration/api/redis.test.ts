import { describeRoutes } from './describe-routes.js';
import { redisBackend } from './harness.js';

describeRoutes(redisBackend());
