import { describe, expect, it } from 'vitest';
import { testDatabases } from '../support/databases.js';
import { useHarness } from '../support/harness.js';

for (const database of testDatabases) {
  describe(`reference faces (${database.name})`, () => {
    const t = useHarness(database);
    const provenance = (transactionId: string, verifiedAt: number) => ({ provider: 'readid', transactionId, proofingId: `p-${transactionId}`, verifiedAt });

    it('keeps one sealed template per user and model, the newest replacing the older, and opens only for its user', async () => {
      const { ctx } = t.h;
      const db = ctx.store.db;
      const [anna, bob] = await Promise.all([ctx.users.create(db, t.rp.accountId, undefined), ctx.users.create(db, t.rp.accountId, undefined)]);
      expect(await ctx.referenceFaces.find(db, anna)).toBeNull();

      const first = { model: 'faceres-v1', descriptor: [0.125, -0.5, 0.75] };
      await ctx.store.write((trx) => ctx.referenceFaces.save(trx, anna, first, provenance('t1', 1000)));
      expect(await ctx.referenceFaces.find(db, anna)).toEqual({ template: first, provenance: provenance('t1', 1000), photo: null });

      const renewed = { model: 'faceres-v1', descriptor: [0.25, 0.5, -0.75] };
      const otherModel = { model: 'dlib-128', descriptor: [1, 2, 3] };
      await ctx.store.write(async (trx) => {
        await ctx.referenceFaces.save(trx, anna, renewed, provenance('t2', 2000));
        await ctx.referenceFaces.save(trx, anna, otherModel, provenance('t3', 3000));
      });
      expect(await ctx.referenceFaces.find(db, anna, 'faceres-v1')).toEqual({ template: renewed, provenance: provenance('t2', 2000), photo: null });
      expect((await ctx.referenceFaces.find(db, anna))!.template).toEqual(otherModel);
      expect(await ctx.referenceFaces.find(db, bob)).toBeNull();

      const rows = await db.selectFrom('user_reference_faces').selectAll().execute();
      expect(rows).toHaveLength(2);
      for (const row of rows) expect(row.template_sealed).not.toContain('0.25');
      // Sealed under Anna's key and context: moved to Bob's row, it does not open.
      await db.updateTable('user_reference_faces').set({ user_id: bob.id }).where('model', '=', 'dlib-128').execute();
      await expect(ctx.referenceFaces.find(db, bob)).rejects.toThrow();
    });

    it('keeps the photo a reference was computed from, sealed, and drops it when a reference without one replaces it', async () => {
      const { ctx } = t.h;
      const db = ctx.store.db;
      const carl = await ctx.users.create(db, t.rp.accountId, undefined);
      const template = { model: 'faceres-v1', descriptor: [0.5, 0.5] };
      const photo = { mediaType: 'image/jpeg', content: Buffer.from('a selfie the agent approved') };
      await ctx.store.write((trx) => ctx.referenceFaces.save(trx, carl, template, provenance('t4', 4000), photo));
      expect(await ctx.referenceFaces.find(db, carl)).toEqual({ template, provenance: provenance('t4', 4000), photo });
      const row = await db.selectFrom('user_reference_faces').selectAll().where('user_id', '=', carl.id).executeTakeFirstOrThrow();
      expect(row.photo_sealed).not.toContain(photo.content.toString('base64'));

      await ctx.store.write((trx) => ctx.referenceFaces.save(trx, carl, template, provenance('t5', 5000)));
      expect((await ctx.referenceFaces.find(db, carl))!.photo).toBeNull();
    });
  });
}
