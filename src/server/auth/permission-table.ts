/** The policy as Markdown tables, for the README and docs/server.md (a docs test keeps them in step). */
import { ACTIONS, RULES } from './policy';
import type { DeclaredRoute } from './route-policy';

const escape = (text: string): string => text.replace(/\|/g, '\\|');

export function permissionTableMarkdown(): string {
  const lines = ['| action | who may |', '|---|---|'];
  for (const action of ACTIONS) lines.push(`| \`${action}\` | ${escape(RULES[action].who)} |`);
  return lines.join('\n');
}

export function routeTableMarkdown(routes: DeclaredRoute[]): string {
  const lines = ['| route | action | on | credential |', '|---|---|---|---|'];
  for (const route of routes) {
    const via = route.permission.via === 'session' ? 'web session' : route.permission.via === 'none' ? 'none' : 'token';
    lines.push(
      `| \`${route.method} ${route.url}\` | \`${route.permission.action}\` | ${route.permission.resource ?? '—'} | ${via} |`,
    );
  }
  return lines.join('\n');
}
