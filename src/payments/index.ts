/** payments: credit packs and provider checkouts (Stripe, MercadoPago). Filled in by the top-ups issue. */
export {};
