// /v1/tokens: a thin translation of HTTP onto the core's token operations.
import type { FastifyInstance } from 'fastify';
import type { Core } from '../../../core/core.js';
import type { CreateTokenInput } from '../../../core/tokens/create.js';
import { bodyOf, credential } from '../credential.js';
import { schemas } from '../schemas.js';

export function tokenRoutes(app: FastifyInstance, core: Core): void {
  app.post<{ Body: CreateTokenInput }>(
    '/v1/tokens',
    { schema: schemas.createToken, config: { operation: 'token.create' } },
    async (req, reply) => reply.code(201).send(await core.createToken(credential(req), bodyOf(req))),
  );
  app.get('/v1/tokens', { schema: schemas.listTokens, config: { operation: 'token.list' } }, (req) =>
    core.listTokens(credential(req)),
  );
  app.delete<{ Params: { id: string } }>(
    '/v1/tokens/:id',
    { schema: schemas.revokeToken, config: { operation: 'token.revoke' } },
    async (req, reply) => {
      await core.revokeToken(credential(req), req.params.id);
      return reply.code(204).send();
    },
  );
}
