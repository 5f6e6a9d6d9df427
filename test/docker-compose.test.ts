/**
 * docker-compose.yml and the Dockerfile are checked with the Compose CLI (`docker compose config`,
 * or the standalone `docker-compose` that scripts/test.sh installs where the docker client lacks the
 * plugin). The stack is not started here (CI has no Docker engine; its images cannot be pulled
 * offline); scripts/docker-smoke.sh builds the image and runs it where an engine runs. Skipped only
 * without a docker client.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const hasDocker = spawnSync('docker', ['--version']).status === 0;

function composeConfig(profile: string): string {
  const plugin = spawnSync('docker', ['compose', '--profile', profile, 'config'], { cwd: root, encoding: 'utf8' });
  if (plugin.status === 0) return plugin.stdout;
  return execFileSync('docker-compose', ['-f', 'docker-compose.yml', '--profile', profile, 'config'], { cwd: root, encoding: 'utf8' });
}

/** The services block of `config` output: name → its lines. */
function services(out: string): Map<string, string> {
  const body = out.split(/^services:\n/m)[1]!.split(/^\S/m)[0]!;
  const map = new Map<string, string>();
  for (const part of body.split(/^ {2}(?=[a-z][\w-]*:\n)/m).filter(Boolean)) map.set(part.slice(0, part.indexOf(':')), part);
  return map;
}

describe.skipIf(!hasDocker)('docker-compose.yml', () => {
  it('is a valid Compose file wiring every service with the same environment', () => {
    const out = composeConfig('dev');
    for (const svc of ['temporal:', 'postgres:', 'redis:', 'migrate:', 'worker:', 'api:', 'proxy:']) expect(out).toContain(`  ${svc}`);
    // The worker, the API and the migration job see the same connection settings the local scripts use.
    expect(out.match(/DATABASE_URL: postgresql:\/\/postgres:expflow@postgres:5432\/expflow/g)?.length).toBe(3);
    expect(out.match(/TEMPORAL_ADDRESS: temporal:7233/g)?.length).toBeGreaterThanOrEqual(3);
    expect(out.match(/REDIS_URL: redis:\/\/redis:6379/g)?.length).toBe(3);
    expect(out).toContain('ExperimentStatus=Keyword');
  });

  it('pins every image, and the API and workers can be scaled (no fixed host port; a proxy in front)', () => {
    const out = composeConfig('production');
    const images = [...out.matchAll(/^\s+image: (\S+)$/gm)].map((m) => m[1]!);
    expect(images.length).toBeGreaterThanOrEqual(7);
    for (const image of images) {
      expect(image, image).toMatch(/:[\w.-]+$/);
      expect(image, image).not.toMatch(/:latest$/);
      expect(image, image).toMatch(/:v?\d/); // a version, not a floating name
    }
    const svc = services(out);
    for (const scaled of ['api', 'worker']) expect(svc.get(scaled), scaled).not.toMatch(/^\s+ports:/m);
    expect(svc.get('proxy')).toMatch(/3000/);
    expect(readFileSync(new URL('../deploy/nginx.conf', import.meta.url), 'utf8')).toMatch(/set \$api http:\/\/api:3000;\s+proxy_pass \$api;/);
  });

  it('has a production profile running Temporal on PostgreSQL with its UI', () => {
    const svc = services(composeConfig('production'));
    expect(svc.get('temporal-server')).toMatch(/image: temporalio\/auto-setup:[\d.]+/);
    expect(svc.get('temporal-server')).toMatch(/DB: postgres12/);
    expect(svc.get('temporal-server')).toMatch(/POSTGRES_SEEDS: postgres/);
    expect(svc.get('temporal-ui')).toMatch(/image: temporalio\/ui:[\d.]+/);
    expect(svc.get('temporal-setup')).toMatch(/search-attribute create/);
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(new URL('../Dockerfile', import.meta.url), 'utf8');
  it('is multi-stage, runs compiled JavaScript with plain node as a non-root user, with a health check', () => {
    expect(dockerfile.match(/^FROM \S+:\d[\w.-]* AS \w+$/gm)?.length).toBe(2);
    expect(dockerfile).toMatch(/RUN npm ci /);
    expect(dockerfile).toMatch(/npm run build/);
    expect(dockerfile).toMatch(/npm prune --omit=dev/);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*dist\/scripts\/healthcheck\.js/m);
    expect(dockerfile).toMatch(/^CMD \["node", "dist\/worker\.js"\]$/m);
    expect(dockerfile).not.toMatch(/^(RUN|CMD|ENTRYPOINT)\b.*\btsx\b/m);
  });
});
