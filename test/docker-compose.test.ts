/**
 * docker-compose.yml is checked with the Compose CLI (`docker compose config`, or the standalone
 * `docker-compose` that scripts/test.sh installs where the docker client lacks the plugin). There is
 * no Docker engine here, so the stack itself is not started. Skipped only without a docker client.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const hasDocker = spawnSync('docker', ['--version']).status === 0;

function composeConfig(): string {
  const plugin = spawnSync('docker', ['compose', 'config'], { cwd: root, encoding: 'utf8' });
  if (plugin.status === 0) return plugin.stdout;
  return execFileSync('docker-compose', ['-f', 'docker-compose.yml', 'config'], { cwd: root, encoding: 'utf8' });
}

describe.skipIf(!hasDocker)('docker-compose.yml', () => {
  it('is a valid Compose file wiring every service with the same environment', () => {
    const out = composeConfig();
    for (const svc of ['temporal:', 'postgres:', 'redis:', 'migrate:', 'worker:', 'api:']) expect(out).toContain(`  ${svc}`);
    // The worker and API see the same connection settings the local scripts use.
    expect(out.match(/DATABASE_URL: postgresql:\/\/postgres:expflow@postgres:5432\/expflow/g)?.length).toBe(3);
    expect(out.match(/TEMPORAL_ADDRESS: temporal:7233/g)?.length).toBe(3);
    expect(out.match(/REDIS_URL: redis:\/\/redis:6379/g)?.length).toBe(3);
    expect(out).toContain('ExperimentStatus=Keyword');
  });
});
