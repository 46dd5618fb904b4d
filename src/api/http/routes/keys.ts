// /v1/keys: a thin translation of HTTP onto the core's key operations.
import type { FastifyInstance } from 'fastify';
import type { Core } from '../../../core/core.js';
import type { CreateKeyInput, ImportKeyInput } from '../../../core/keys/create.js';
import type { SignInput } from '../../../core/keys/input.js';
import type { ListKeysInput } from '../../../core/keys/list.js';
import type { VerifyInput } from '../../../core/keys/verify.js';
import { bodyOf, credential } from '../credential.js';
import { schemas } from '../schemas.js';

type Id = { Params: { id: string } };

export function keyRoutes(app: FastifyInstance, core: Core): void {
  app.post<{ Body: CreateKeyInput }>(
    '/v1/keys',
    { schema: schemas.createKey, config: { operation: 'key.create' } },
    async (req, reply) => reply.code(201).send(await core.createKey(credential(req), bodyOf(req))),
  );
  app.post<{ Body: ImportKeyInput }>(
    '/v1/keys/import',
    { schema: schemas.importKey, config: { operation: 'key.import' } },
    async (req, reply) => reply.code(201).send(await core.importKey(credential(req), bodyOf(req))),
  );
  app.get<{ Querystring: ListKeysInput }>(
    '/v1/keys',
    { schema: schemas.listKeys, config: { operation: 'key.list' } },
    (req) => core.listKeys(credential(req), req.query),
  );
  app.get<Id>('/v1/keys/:id', { schema: schemas.getKey, config: { operation: 'key.get' } }, (req) =>
    core.getKey(credential(req), req.params.id),
  );
  app.post<Id & { Body: SignInput }>(
    '/v1/keys/:id/sign',
    { schema: schemas.sign, config: { operation: 'key.sign' } },
    (req) => core.sign(credential(req), req.params.id, bodyOf(req)),
  );
  app.get<Id & { Querystring: { path?: string } }>(
    '/v1/keys/:id/derive',
    { schema: schemas.deriveKey, config: { operation: 'key.derive' } },
    (req) => core.deriveKey(credential(req), req.params.id, req.query.path),
  );
  app.post<Id & { Body: VerifyInput }>(
    '/v1/keys/:id/verify',
    { schema: schemas.verify, config: { operation: 'key.verify' } },
    (req) => core.verify(credential(req), req.params.id, bodyOf(req)),
  );
  app.post<Id & { Body: { state: string } }>(
    '/v1/keys/:id/state',
    { schema: schemas.setState, config: { operation: 'key.state' } },
    (req) => core.setKeyState(credential(req), req.params.id, bodyOf<{ state?: unknown }>(req).state),
  );
  app.delete<Id>(
    '/v1/keys/:id',
    { schema: schemas.destroyKey, config: { operation: 'key.destroy' } },
    (req) => core.destroyKey(credential(req), req.params.id),
  );
}
