/** A tiny browser stand-in for the web page's unit tests: a cookie jar, form posts and page scraping. */
import { setPasswordInStore } from '../../../src/server/offline-password';
import { request } from 'undici';
import { api, type TestServer } from './test-server';

export interface PageResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  location: string | undefined;
}

export const PASSWORD = 'correct horse battery staple';

export class WebClient {
  readonly cookies = new Map<string, string>();

  constructor(readonly baseUrl: string) {}

  private cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  private keepCookies(setCookie: string | string[] | undefined): void {
    for (const line of ([] as string[]).concat(setCookie ?? [])) {
      const [pair, ...attrs] = line.split(';');
      const [name, value] = [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)];
      const expired = attrs.some((a) => /expires=Thu, 01 Jan 1970/i.test(a) || /max-age=0$/i.test(a.trim()));
      if (expired || value === '') this.cookies.delete(name.trim());
      else this.cookies.set(name.trim(), value);
    }
  }

  async get(path: string): Promise<PageResult> {
    const response = await request(`${this.baseUrl}${path}`, { headers: { cookie: this.cookieHeader() } });
    this.keepCookies(response.headers['set-cookie']);
    const text = await response.body.text();
    return {
      status: response.statusCode,
      headers: response.headers,
      text,
      location: response.headers.location as string | undefined,
    };
  }

  async post(path: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<PageResult> {
    const response = await request(`${this.baseUrl}${path}`, {
      method: 'POST',
      headers: {
        cookie: this.cookieHeader(),
        'content-type': 'application/x-www-form-urlencoded',
        origin: this.baseUrl,
        'sec-fetch-site': 'same-origin',
        ...headers,
      },
      body: new URLSearchParams(fields).toString(),
    });
    this.keepCookies(response.headers['set-cookie']);
    const text = await response.body.text();
    return {
      status: response.statusCode,
      headers: response.headers,
      text,
      location: response.headers.location as string | undefined,
    };
  }

  async signIn(name: string, password = PASSWORD): Promise<PageResult> {
    const form = await this.get('/ui/sign-in');
    return this.post('/ui/sign-in', { csrf: field(form.text, 'csrf'), name, password, next: '/ui/tokens' });
  }
}

/** The value of the first hidden/text input with this name on a page. */
export function field(html: string, name: string): string {
  const match = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
  if (!match) throw new Error(`no field ${name} on the page:\n${html.slice(0, 2000)}`);
  return match[1];
}

/** A user with a password, set the way a server admin does it: on the server's own store (`user set-password --data-dir`). */
export async function userWithPassword(ts: TestServer, name: string, password = PASSWORD): Promise<void> {
  await api(ts, 'POST', '/users', { name });
  await setPasswordInStore(ts.server.context.store, name, password, () => ts.clock.now);
}
