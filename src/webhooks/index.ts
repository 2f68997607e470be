/** webhooks: verified provider notifications that credit top-ups. Filled in by the top-ups issue. */
export {};
