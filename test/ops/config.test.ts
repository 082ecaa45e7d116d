import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('configuration', () => {
  describe('REUSEID_TRUST_PROXY', () => {
    const trustProxy = (value: string | undefined) => loadConfig({ REUSEID_TRUST_PROXY: value }).trustProxy;

    it('trusts no proxy when unset or false', () => {
      expect(trustProxy(undefined)).toBe(0);
      expect(trustProxy('false')).toBe(0);
      expect(trustProxy('0')).toBe(0);
    });

    it('takes a hop count, or a list of proxy addresses and CIDRs', () => {
      expect(trustProxy('2')).toBe(2);
      expect(trustProxy('10.0.0.0/8, 192.0.2.10,fd00::/8')).toEqual(['10.0.0.0/8', '192.0.2.10', 'fd00::/8']);
    });

    it('refuses trusting every hop, telling the operator what to give instead', () => {
      for (const value of ['true', 'yes', 'TRUE']) {
        expect(() => trustProxy(value)).toThrow(ConfigError);
        expect(() => trustProxy(value)).toThrow(/hop count .* proxy addresses/);
      }
    });

    it('refuses what is neither a hop count nor an address', () => {
      expect(() => trustProxy('-1')).toThrow(ConfigError);
      expect(() => trustProxy('10.0.0.0/8,proxy.example')).toThrow(/"proxy.example"/);
    });
  });

  describe('REUSEID_REDIS_URL', () => {
    it('counts in the database unless a redis:// or rediss:// URL is given', () => {
      expect(loadConfig({}).redis).toEqual({ url: null, keyPrefix: 'reuseid:' });
      expect(loadConfig({ REUSEID_REDIS_URL: 'rediss://:secret@cache.internal:6380/2' }).redis.url).toBe('rediss://:secret@cache.internal:6380/2');
      expect(loadConfig({ REUSEID_REDIS_URL: 'redis://127.0.0.1:6379', REUSEID_REDIS_KEY_PREFIX: 'staging:' }).redis).toEqual({
        url: 'redis://127.0.0.1:6379',
        keyPrefix: 'staging:',
      });
    });

    it('refuses other URLs and prefixes that are not plain', () => {
      expect(() => loadConfig({ REUSEID_REDIS_URL: 'http://127.0.0.1:6379' })).toThrow(/REUSEID_REDIS_URL: must be a redis:\/\/ or rediss:\/\/ URL/);
      expect(() => loadConfig({ REUSEID_REDIS_URL: '127.0.0.1:6379' })).toThrow(ConfigError);
      expect(() => loadConfig({ REUSEID_REDIS_KEY_PREFIX: 'a b' })).toThrow(/REUSEID_REDIS_KEY_PREFIX/);
    });
  });

  describe('REUSEID_SANDBOX', () => {
    it('refuses sandbox mode with NODE_ENV=production', () => {
      expect(() => loadConfig({ REUSEID_SANDBOX: 'true', NODE_ENV: 'production' })).toThrow(ConfigError);
      expect(() => loadConfig({ REUSEID_SANDBOX: 'true', NODE_ENV: 'production' })).toThrow(/REUSEID_SANDBOX: .*NODE_ENV=production/);
    });

    it('allows sandbox mode elsewhere, and production without it', () => {
      expect(loadConfig({ REUSEID_SANDBOX: 'true', NODE_ENV: 'development' }).sandbox).toBe(true);
      expect(loadConfig({ REUSEID_SANDBOX: 'true' }).sandbox).toBe(true);
      expect(loadConfig({ REUSEID_SANDBOX: 'false', NODE_ENV: 'production' }).sandbox).toBe(false);
    });
  });
});
