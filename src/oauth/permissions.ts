/** Permissions an API client can hold (contract §2). Each guards one face of the API. */
export const PERMISSIONS = ['reuseid-onboarding', 'reuseid-users', 'reuseid-credentials', 'events', 'audit'] as const;
export type Permission = (typeof PERMISSIONS)[number];

export const isPermission = (value: string): value is Permission => (PERMISSIONS as readonly string[]).includes(value);

/** Signicat clients always ask for this scope; it means "everything this client is permitted". */
export const SIGNICAT_API_SCOPE = 'signicat-api';
