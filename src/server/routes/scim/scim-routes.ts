/**
 * `/scim/v2`: the User endpoints an identity provider calls to deprovision people (docs/sso.md, "SCIM").
 * The credential is the provider's SCIM bearer token, checked by ScimService, never a cache token. Answers
 * and errors are SCIM's (`application/scim+json`, RFC 7644 3.12); each error also names its stable code.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { toSealedCacheError, statusOf } from '../../http-errors';
import { openPermit } from '../../auth/route-policy';
import { SCIM_ERROR_SCHEMA, ScimError, patchedFields, userFieldsOf, type ScimService } from '../../sso/scim';

export const SCIM_PREFIX = '/scim/v2';
const SCIM_TYPE = 'application/scim+json';
/** A User resource is small; a provider never needs more. */
const SCIM_BODY_LIMIT = 64 * 1024;

const send = (reply: FastifyReply, status: number, body: unknown): FastifyReply =>
  reply.code(status).type(SCIM_TYPE).send(JSON.stringify(body));

export async function scimRoutes(app: FastifyInstance, scim: ScimService): Promise<void> {
  // Providers send `application/scim+json`; some send plain JSON. Both are read the same way.
  app.addContentTypeParser(
    [SCIM_TYPE, 'application/json'],
    { parseAs: 'string', bodyLimit: SCIM_BODY_LIMIT },
    (_request, body, done) => {
      try {
        done(null, body === '' ? undefined : JSON.parse(body as string));
      } catch {
        done(new ScimError('ERR_SCIM_INVALID', 'the body is not JSON', 'invalidSyntax'), undefined);
      }
    },
  );
  app.setErrorHandler((error, request, reply) => {
    const err = toSealedCacheError(error);
    const status = statusOf(err);
    if (status >= 500) request.log.error({ err: error }, 'SCIM request failed');
    if (status === 401) void reply.header('www-authenticate', 'Bearer realm="scim"');
    return send(reply, status, {
      schemas: [SCIM_ERROR_SCHEMA],
      status: String(status),
      ...(err instanceof ScimError && err.scimType !== undefined ? { scimType: err.scimType } : {}),
      detail: `${err.code}: ${err.message}`,
    });
  });
  app.setNotFoundHandler((request, reply) =>
    send(reply, 404, {
      schemas: [SCIM_ERROR_SCHEMA],
      status: '404',
      detail: `ERR_NOT_FOUND: no SCIM endpoint ${request.method} ${request.url.split('?')[0]}`,
    }),
  );

  const permit = openPermit('scim.provision');
  const providerOf = (authorization: string | undefined) => scim.authenticate(authorization);

  app.get('/ServiceProviderConfig', permit, async (request, reply) => {
    providerOf(request.headers.authorization);
    return send(reply, 200, {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
      patch: { supported: true },
      bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
      filter: { supported: true, maxResults: 100 },
      changePassword: { supported: false },
      sort: { supported: false },
      etag: { supported: false },
      authenticationSchemes: [
        { type: 'oauthbearertoken', name: 'Bearer token', description: 'the SCIM token in the SSO config' },
      ],
    });
  });

  app.get('/Users', permit, async (request, reply) => {
    const provider = providerOf(request.headers.authorization);
    const query = request.query as Record<string, string | undefined>;
    return send(reply, 200, await scim.list(provider, query));
  });

  app.get('/Users/:id', permit, async (request, reply) => {
    const provider = providerOf(request.headers.authorization);
    return send(reply, 200, scim.resource(await scim.get(provider, (request.params as { id: string }).id)));
  });

  app.post('/Users', permit, async (request, reply) => {
    const provider = providerOf(request.headers.authorization);
    const user = await scim.create(provider, request.body);
    void reply.header('location', scim.location(user.id));
    return send(reply, 201, scim.resource(user));
  });

  app.put('/Users/:id', permit, async (request, reply) => {
    const provider = providerOf(request.headers.authorization);
    const fields = userFieldsOf(request.body);
    const user = await scim.update(provider, (request.params as { id: string }).id, () => fields);
    return send(reply, 200, scim.resource(user));
  });

  app.patch('/Users/:id', permit, async (request, reply) => {
    const provider = providerOf(request.headers.authorization);
    const user = await scim.update(provider, (request.params as { id: string }).id, (current) =>
      patchedFields(current, request.body),
    );
    return send(reply, 200, scim.resource(user));
  });

  app.delete('/Users/:id', permit, async (request, reply) => {
    const provider = providerOf(request.headers.authorization);
    await scim.remove(provider, (request.params as { id: string }).id);
    return reply.code(204).send();
  });
}
