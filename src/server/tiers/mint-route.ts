import type { FastifyInstance } from 'fastify';
import { presentIssuedToken } from '../routes/admin-presenters';
import { parseInput } from '../routes/admin-input';
import type { ServerContext } from '../server-context';
import { MintBody, mintToken } from './mint-token';
import { describeNamespace } from './write-tier';

/** `POST /api/v1/tokens/mint`. Declared public because CI tokens mint, which the admin layer refuses; the handler authenticates. */
export async function mintTokenRoute(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  app.post('/tokens/mint', { config: { auth: 'public' } }, async (request, reply) => {
    const principal = await ctx.credentials.resolve(request.headers.authorization);
    const issued = await mintToken(ctx, principal, parseInput(MintBody, request.body, 'mint request'));
    return reply.code(201).send({ ...presentIssuedToken(issued.record, issued.secret), namespace: describeNamespace(`s:${issued.record.scope}`) });
  });
}
