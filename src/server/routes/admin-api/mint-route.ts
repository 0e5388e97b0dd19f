import type { FastifyInstance } from 'fastify';
import type { MintedTokenJson } from '../../../protocol';
import { authorizedOf, permit, resourceOf } from '../../auth/route-policy';
import { presentIssuedToken } from '../support/presenters';
import { parseInput } from '../../input/request-input';
import type { ServerContext } from '../../server-context';
import { MintBody, mintToken } from '../../tiers/mint-token';
import { describeNamespace } from '../../tiers/write-tier';

/** `POST /api/v1/tokens/mint`: CI tokens may call it (unlike the rest of the admin API); the policy says which. */
export async function mintTokenRoute(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  app.post('/tokens/mint', permit('token.mint', 'mint'), async (request, reply) => {
    const { actor } = authorizedOf(request);
    const issued = await mintToken(
      ctx,
      actor,
      resourceOf(request, 'mint'),
      parseInput(MintBody, request.body, 'mint request'),
    );
    return reply.code(201).send({
      ...presentIssuedToken(issued.record, issued.secret),
      namespace: describeNamespace(`s:${issued.record.scope}`),
    } satisfies MintedTokenJson);
  });
}
