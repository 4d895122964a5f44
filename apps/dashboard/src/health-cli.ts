// `pnpm --filter @audio/dashboard health` (or `node dist/health-cli.js`): the /health report for cron
// and Ansible. Exit 0 healthy, 1 unhealthy, 2 could not check, 3 degraded (recent failures, or the noon
// forecast passing the deadline).
import { runHealthCli } from './operations/health-command.js';

// stdout carries the JSON and stderr only real problems: silence the AWS SDK's Node version notice.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.exitCode = await runHealthCli(process.argv.slice(2));
