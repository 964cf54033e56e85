import { describeRoutes } from './describe-routes.js';
import { postgresBackend } from './harness.js';

describeRoutes(postgresBackend());
