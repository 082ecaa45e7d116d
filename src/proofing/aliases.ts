/** Provider ids RPs may name, and the aliases that mean them. */
export const PROVIDER_ALIASES: Record<string, string> = {
  signicatvideoid: 'signicatvideoid',
  videoid: 'signicatvideoid',
  readid: 'readid',
  sandbox: 'sandbox',
};
