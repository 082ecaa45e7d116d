/**
 * A bounded cache for parsed ASN.1 that recurs across documents: a document signer signs many passports, so its
 * certificate, its SignerInfo identifier and the algorithm identifiers come back byte for byte, and building pkijs
 * objects for them costs more than the signature check itself. Cleared when full (simple and bounded).
 */
export class BoundedCache<T> {
  private readonly entries = new Map<string, T>();

  constructor(private readonly limit: number) {}

  get(key: string, compute: () => T): T {
    let value = this.entries.get(key);
    if (value === undefined) {
      value = compute();
      if (this.entries.size >= this.limit) this.entries.clear();
      this.entries.set(key, value);
    }
    return value;
  }
}
