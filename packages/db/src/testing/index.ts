export { createTestDatabase, dropStaleTestDatabases, type TestDatabase } from './create-test-database.js';
export { migrateDeploy, runPrismaCli, MIGRATIONS_DIR, SCHEMA_PATH } from '../prisma-cli.js';
